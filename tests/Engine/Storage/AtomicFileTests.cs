using Fuzz.Engine.Storage;
using Xunit;

namespace Fuzz.Tests.Engine.Storage;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fuzz-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_write_replaces_the_whole_file_and_leaves_no_temporary_file()
    {
        string path = Path.Combine(_dir, "f");
        AtomicFile.Write(path, new byte[1000]);
        AtomicFile.Write(path, [1, 2, 3], durable: false);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        AtomicFile.WriteText(path, "text");
        Assert.Equal("text", File.ReadAllText(path));
        Assert.Equal(["f"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failed_write_leaves_what_was_there_and_no_temporary_file()
    {
        string path = Path.Combine(_dir, "taken");
        Directory.CreateDirectory(path);
        File.WriteAllBytes(Path.Combine(path, "inside"), [7]);
        Assert.ThrowsAny<IOException>(() => AtomicFile.Write(path, [1, 2, 3]));
        Assert.Empty(Directory.GetFiles(_dir));
        Assert.Equal([7], File.ReadAllBytes(Path.Combine(path, "inside")));
    }

    [Fact]
    public void Only_names_with_the_temporary_marker_are_temporary()
    {
        Assert.True(AtomicFile.IsTemporary(Path.Combine(_dir, "abc" + AtomicFile.TempMarker + "12-3")));
        Assert.False(AtomicFile.IsTemporary(Path.Combine(_dir, "abc")));
        Assert.False(AtomicFile.IsTemporary(Path.Combine("dir" + AtomicFile.TempMarker + "1", "abc")));
    }
}
