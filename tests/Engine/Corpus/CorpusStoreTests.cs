using Fuzz.Engine.Corpus;
using Fuzz.Engine.Storage;
using Xunit;

namespace Fuzz.Tests.Engine.Corpus;

public sealed class CorpusStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fuzz-test-" + Guid.NewGuid().ToString("n"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Fact]
    public void An_input_is_named_by_the_sha256_of_its_bytes()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", CorpusStore.NameOf("abc"u8));
        var store = new CorpusStore(_dir);
        var input = Toy.Program(1);
        string name = store.Add(input);
        Assert.Equal(CorpusStore.NameOf(input), name);
        Assert.Equal(input, File.ReadAllBytes(store.PathOf(name)));
    }

    [Fact]
    public void Adding_an_input_twice_keeps_one_file_and_no_temporary_ones()
    {
        var store = new CorpusStore(_dir);
        string a = store.Add(Toy.Program(1)), b = store.Add(Toy.Program(2));
        Assert.Equal(a, store.Add(Toy.Program(1)));
        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_existing_file_of_the_name_is_not_rewritten()
    {
        var store = new CorpusStore(_dir);
        var input = Toy.Program(3);
        File.WriteAllBytes(store.PathOf(CorpusStore.NameOf(input)), [9, 9]);
        store.Add(input);
        Assert.Equal([9, 9], File.ReadAllBytes(store.PathOf(CorpusStore.NameOf(input))));
    }

    [Fact]
    public void Load_gives_the_good_files_in_name_order_and_lists_every_bad_one_with_its_reason()
    {
        var store = new CorpusStore(_dir);
        var good = Enumerable.Range(1, 4).Select(i => Toy.Program((ulong)i)).ToList();
        foreach (var g in good.Take(3)) store.Add(g);
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        new CorpusStore(Path.Combine(_dir, "sub")).Add(good[3]);
        File.WriteAllBytes(Path.Combine(_dir, "empty"), []);
        File.WriteAllBytes(Path.Combine(_dir, "garbage"), [0x99, 1, 2]);
        File.WriteAllBytes(Path.Combine(_dir, "oversized"), new byte[Fuzz.Engine.Input.ProgramInput.MaxEncodedBytes + 1]);
        string temp = "x" + AtomicFile.TempMarker + "1-1";
        File.WriteAllBytes(Path.Combine(_dir, temp), good[0]);
        File.WriteAllBytes(Path.Combine(_dir, ".hidden"), [0x99]);
        File.WriteAllText(Path.Combine(_dir, "README.md"), "not an input");

        var load = CorpusStore.Load(_dir, Toy.Codec, Toy.Vocabulary);

        var paths = load.Good.Select(g => g.Path).ToList();
        Assert.Equal(paths.Order(StringComparer.Ordinal), paths);
        Assert.Equal(good.Select(g => CorpusStore.NameOf(g)).Order(), load.Good.Select(g => Path.GetFileName(g.Path)).Order());
        Assert.All(load.Good, g => Assert.Equal(File.ReadAllBytes(g.Path), g.Data));
        var reasons = load.Bad.ToDictionary(b => Path.GetFileName(b.Path), b => b.Reason);
        Assert.Equal(["empty", "garbage", "oversized", temp], reasons.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("empty file", reasons["empty"]);
        Assert.StartsWith("unknown format version 153", reasons["garbage"]);
        Assert.StartsWith("oversized", reasons["oversized"]);
        Assert.Equal("leftover temporary file of an interrupted write", reasons[temp]);
    }

    [Fact]
    public void Load_of_several_directories_lists_a_missing_one_as_bad()
    {
        var store = new CorpusStore(_dir);
        store.Add(Toy.Program(5));
        string missing = Path.Combine(_dir, "missing");
        var load = CorpusStore.Load([_dir, missing], Toy.Codec, Toy.Vocabulary);
        Assert.Single(load.Good);
        Assert.Equal([new RejectedFile(missing, "no such directory")], load.Bad);
    }
}
