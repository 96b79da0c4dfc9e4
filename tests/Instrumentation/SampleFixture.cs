using Fuzz.Instrumentation;

namespace Fuzz.Tests.Instrumentation;

/// <summary>The sample assembly as built, instrumented twice from the same input and once with --prune, in a temporary directory.</summary>
public sealed class SampleFixture : IDisposable
{
    public const string SamplesType = "Fuzz.InstrumentationSample.Samples";
    private const string FileName = "Fuzz.InstrumentationSample.dll";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fuzz-instr-");

    public SampleFixture()
    {
        string built = Path.Combine(AppContext.BaseDirectory, "InstrumentationSample", FileName);
        Original = Path.Combine(_dir.FullName, "original", FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(Original)!);
        File.Copy(built, Original);
        File.Copy(Path.ChangeExtension(built, ".pdb"), Path.ChangeExtension(Original, ".pdb"));
        Instrumented = Path.Combine(_dir.FullName, "instrumented", FileName);
        Result = Instrumenter.Instrument(Original, Instrumented, new InstrumentOptions());
        Again = Path.Combine(_dir.FullName, "again", FileName);
        Instrumenter.Instrument(Original, Again, new InstrumentOptions());
        Pruned = Path.Combine(_dir.FullName, "pruned", FileName);
        Instrumenter.Instrument(Original, Pruned, new InstrumentOptions { Prune = true });
    }

    public string Original { get; }
    public string Instrumented { get; }
    public string Again { get; }
    public string Pruned { get; }
    public InstrumentResult Result { get; }

    public string Scratch(string name)
    {
        string path = Path.Combine(_dir.FullName, name);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
