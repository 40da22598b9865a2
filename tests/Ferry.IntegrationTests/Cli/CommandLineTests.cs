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
    public void A_value_not_among_the_allowed_ones_is_one_line_naming_them()
    {
        var result = FerryBinary.Run("restore", "-D", "/tmp", "--manage-cgroups=bogus");
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("'bogus'", line);
        Assert.Contains("'soft'", line);
        Assert.Contains("--help", line);
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

    [Fact]
    public void Zdtm_dump_and_restore_command_lines_parse()
    {
        // The exact option sets CRIU's test suite passes (a missing process and a missing image set are then the only errors).
        var images = Directory.CreateTempSubdirectory("ferry-zdtm-parse").FullName;
        var dump = FerryBinary.Run("dump", "--no-default-config", "--log-file", "dump.log", "--images-dir", images,
            "--verbosity=4", "--tree", "999999", "--file-locks", "--manage-cgroups=full", "--cgroup-root", "/x", "--cgroup-root", "cpu:/y",
            "--pidfile", "/tmp/ferry-zdtm.pid", "--timeout", "10", "--pre-dump-mode", "splice", "--ghost-limit", "8M", "--link-remap");
        Assert.Equal(1, dump.ExitCode);
        Assert.Contains("999999", dump.StdErr);
        var restore = FerryBinary.Run("restore", "--no-default-config", "--log-file", "restore.log", "--images-dir", images,
            "--verbosity=4", "--pidfile", "/tmp/ferry-zdtm.pid", "--restore-detached", "--join-ns", "net:/var/run/netns/x", "--manage-cgroups");
        Assert.Equal(1, restore.ExitCode);
        Assert.Contains("inventory.img", restore.StdErr);
        Directory.Delete(images, recursive: true);
    }

    [Fact]
    public void Incremental_dump_options_are_refused_with_one_line()
    {
        var result = FerryBinary.Run("dump", "-t", "1", "--track-mem");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("incremental dumps", result.StdErr);
    }

    [Theory]
    [InlineData("timens", 0)]
    [InlineData("userns", 1)]
    public void Check_feature_answers_with_the_exit_code(string feature, int expected)
    {
        // zdtm's spelling: the option twice and "-verbosity=0", which CRIU's getopt reads as level 0.
        var result = FerryBinary.Run("check", "--no-default-config", "--no-default-config", "-verbosity=0", "--feature", feature);
        Assert.Equal(expected, result.ExitCode);
        Assert.Contains(feature, result.StdOut);
    }
}
