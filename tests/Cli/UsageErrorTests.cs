using Xunit;

namespace Fuzz.Tests.Cli;

/// <summary>The command line's contract on the built `fuzz`: arguments it cannot use exit 2, with what is wrong and where help is.</summary>
public class UsageErrorTests : IDisposable
{
    private readonly DirectoryInfo _cwd = Directory.CreateTempSubdirectory("fuzz-usage-");

    public void Dispose() => _cwd.Delete(recursive: true);

    /// <summary>Runs in a directory of its own, so that a command that wrongly runs writes nothing elsewhere.</summary>
    private (int Code, string Out, string Err) Fuzz(params string[] args) => FuzzProcess.Run(_cwd.FullName, TimeSpan.FromSeconds(60), args);

    [Theory]
    [InlineData("worker", "--broker", "amqp://127.0.0.1:1/", "--bogus")]
    [InlineData("worker")]
    [InlineData("worker", "--broker", "amqp://127.0.0.1:1/", "--jobs", "many")]
    [InlineData("coordinator", "--broker", "amqp://127.0.0.1:1/")]
    [InlineData("coordinator", "--broker", "amqp://127.0.0.1:1/", "--workdir", "w", "--worker-timeout", "soon")]
    [InlineData("coordinator", "--broker", "amqp://127.0.0.1:1/", "--workdir", "w", "extra")]
    [InlineData("replay", "--corpus", "c", "--chunk", "x")]
    [InlineData("replay", "--bogus", "--corpus", "c")]
    [InlineData("run", "--workers", "abc")]
    [InlineData("run", "--bogus")]
    public void Arguments_that_do_not_parse_exit_2_with_the_problem_and_a_pointer_to_help(params string[] args)
    {
        var (code, _, err) = Fuzz(args);
        Assert.True(code == 2, $"fuzz {string.Join(' ', args)} exited {code}:\n{err}");
        Assert.Contains($"fuzz {args[0]}: ", err);
        Assert.Contains($"see fuzz {args[0]} --help", err);
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("coordinator")]
    [InlineData("replay")]
    public void Help_still_exits_0(string command)
    {
        var (code, stdout, _) = Fuzz(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains("--broker", stdout);
    }

    [Fact]
    public void Arguments_that_parse_but_are_unusable_keep_their_own_message_and_exit_2()
    {
        var (code, _, err) = Fuzz("worker", "--broker", "http://127.0.0.1/", "--jobs", "1");
        Assert.Equal(2, code);
        Assert.Contains("is not an amqp:// URL", err);
    }
}
