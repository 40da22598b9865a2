using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Cli;

public class CommandLineTests
{
    [Fact]
    public void Version_prints_and_exits_zero()
    {
        var result = FerryBinary.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.StdOut);
    }

    [Fact]
    public void Missing_required_option_is_a_usage_error_with_one_clear_line()
    {
        var result = FerryBinary.Run("dump", "-D", "/tmp");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'--tree' is required", result.StdErr);
    }

    [Theory]
    [InlineData("-v4")]
    [InlineData("-vvv")]
    [InlineData("-v")]
    [InlineData("--verbosity=1")]
    public void Criu_verbosity_spellings_are_accepted(string verbosity)
    {
        var result = FerryBinary.Run("page-server", "-D", "/tmp", verbosity);
        Assert.DoesNotContain("not recognized", result.StdErr);
        Assert.DoesNotContain("Unrecognized", result.StdErr);
    }

    [Fact]
    public void Criu_spellings_of_restore_options_parse()
    {
        var result = FerryBinary.Run("restore", "--images-dir", "/nonexistent-ferry-dir", "-d", "--pidfile", "/tmp/x.pid",
            "-o", "restore.log", "--shell-job", "--tcp-established", "--no-default-config", "--timeout", "5");
        Assert.NotEqual(2, result.ExitCode);
    }

    [Fact]
    public void Unknown_option_is_a_usage_error()
    {
        var result = FerryBinary.Run("dump", "-t", "1", "--no-such-option");
        Assert.Equal(2, result.ExitCode);
    }
}
