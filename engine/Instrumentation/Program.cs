namespace Fuzz.Instrumentation;

/// <summary>
/// <c>Fuzz.Instrumentation &lt;assembly&gt; [--output path] [--include p,...] [--exclude p,...] [--raw-copy path] [--prune]</c>;
/// the build runs this on the model's assembly. Exit 0 done, 1 failed, 2 usage.
/// </summary>
internal static class Program
{
    private const string Usage =
        "usage: Fuzz.Instrumentation <assembly> [--output PATH] [--include PREFIX,...] [--exclude PREFIX,...] [--raw-copy PATH] [--prune]";

    private static int Main(string[] args)
    {
        string? input = null, output = null, rawCopy = null;
        IReadOnlyList<string> include = [], exclude = [];
        bool prune = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                Console.Out.WriteLine(Usage);
                return 0;
            }
            if (arg == "--prune")
            {
                prune = true;
                continue;
            }
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length) return UsageError($"{arg} needs a value");
                string value = args[++i];
                switch (arg)
                {
                    case "--output": output = value; break;
                    case "--raw-copy": rawCopy = value; break;
                    case "--include": include = MethodFilter.ParseList(value); break;
                    case "--exclude": exclude = MethodFilter.ParseList(value); break;
                    default: return UsageError($"unknown option {arg}");
                }
            }
            else if (input is null) input = arg;
            else return UsageError($"unexpected argument {arg}");
        }
        if (input is null) return UsageError("no assembly given");

        try
        {
            var result = Instrumenter.Instrument(input, output, new InstrumentOptions { Include = include, Exclude = exclude, RawCopyPath = rawCopy, Prune = prune });
            Console.Out.WriteLine(result.Summary);
            return 0;
        }
        catch (InstrumentationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        Console.Error.WriteLine(Usage);
        return 2;
    }
}
