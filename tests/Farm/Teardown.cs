namespace Fuzz.Tests.Farm;

/// <summary>
/// What a farm test opened, closed in the reverse order at its end (one the test closed itself is
/// skipped), and then the directories it made, deleted.
/// </summary>
public sealed class Teardown : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _open = new();
    private readonly List<string> _dirs = new();

    public T Add<T>(T opened) where T : IAsyncDisposable
    {
        _open.Add(opened);
        return opened;
    }

    /// <summary>Creates <paramref name="path"/>, to be deleted at the end.</summary>
    public string Dir(string path)
    {
        Directory.CreateDirectory(path);
        _dirs.Add(path);
        return path;
    }

    public string TempDir(string prefix) => Dir(Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("n")));

    public async ValueTask DisposeAsync()
    {
        for (int i = _open.Count - 1; i >= 0; i--)
            try { await _open[i].DisposeAsync(); } catch (ObjectDisposedException) { }
        foreach (var d in _dirs)
            try { Directory.Delete(d, true); } catch (IOException) { }
    }
}
