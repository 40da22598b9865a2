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

    [RootFerryBinaryFact]
    public void A_parent_that_ignores_SIGCHLD_does_not_break_waiting_for_children()
    {
        // An ignored SIGCHLD survives exec; without the reset in Main the kernel reaps ferry's children behind its
        // back and waitpid fails with ECHILD. `ferry run` must still pass the program's exit status through.
        const string ignoreThenExec = "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])";
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-c", ignoreThenExec, FerryBinary.Path!, "run", "--", "sh", "-c", "exit 7" }) start.ArgumentList.Add(arg);
        using var parent = System.Diagnostics.Process.Start(start)!;
        var stderr = parent.StandardError.ReadToEndAsync();
        Assert.True(parent.WaitForExit(TimeSpan.FromMinutes(1)), "ferry run hung under an ignored SIGCHLD");
        Assert.True(parent.ExitCode == 7, $"exit {parent.ExitCode}: {stderr.Result}");
    }
}
