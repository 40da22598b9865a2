using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Tracing;

/// <summary>The posix_spawn process starter: arguments, environment, redirection, sessions, exit and kill.</summary>
public sealed class ChildProcessTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("ferry-child-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Arguments_environment_and_stdout_reach_the_program()
    {
        var output = Path.Combine(_directory, "out");
        using var child = ChildProcess.Start(new SpawnOptions("/bin/sh", "-c", "echo \"$0|$1|$FERRY_X\"; tr '\\0' ' ' </proc/$$/cmdline; exit 7", "a0", "a1")
        {
            ArgumentZero = "zero",
            Environment = ["FERRY_X=env value", "PATH=/usr/bin:/bin"],
            Stdout = Stdio.ToFile(output),
        });
        Assert.Equal(new ExitStatus(true, 7, 0), child.WaitForExit(Poll.Patience));
        var lines = File.ReadAllLines(output);
        Assert.Equal("a0|a1|env value", lines[0]);
        Assert.StartsWith("zero -c ", lines[1]);
    }

    [Fact]
    public void Stdin_comes_from_a_file_and_stderr_goes_to_another()
    {
        var input = Path.Combine(_directory, "in");
        var errors = Path.Combine(_directory, "err");
        File.WriteAllText(input, "from a file");
        using var child = ChildProcess.Start(new SpawnOptions("cat") { SearchPath = true, Stdin = Stdio.FromFile(input), Stdout = Stdio.ToFile(errors) });
        Assert.Equal(new ExitStatus(true, 0, 0), child.WaitForExit(Poll.Patience));
        Assert.Equal("from a file", File.ReadAllText(errors));

        using var failing = ChildProcess.Start(new SpawnOptions("/bin/sh", "-c", "echo oops >&2") { Stderr = Stdio.ToFile(errors) });
        failing.WaitForExit(Poll.Patience);
        Assert.Equal("oops\n", File.ReadAllText(errors));
    }

    [Fact]
    public void NewSession_makes_the_child_a_session_leader_with_default_signals()
    {
        var output = Path.Combine(_directory, "out");
        using var child = ChildProcess.Start(new SpawnOptions("/bin/sh", "-c", "grep -E '^(SigBlk|SigIgn)' /proc/self/status; cat /proc/self/stat")
        {
            NewSession = true,
            Stdout = Stdio.ToFile(output),
        });
        Assert.Equal(new ExitStatus(true, 0, 0), child.WaitForExit(Poll.Patience));
        var lines = File.ReadAllLines(output);
        Assert.Equal("SigBlk:\t0000000000000000", lines[0]);
        Assert.Equal("SigIgn:\t0000000000000000", lines[1]); // .NET ignores SIGPIPE; the child must not inherit that
        var stat = lines[2].Split(") ")[1].Split(' ');
        Assert.Equal(child.Pid.ToString(), stat[2]); // pgrp
        Assert.Equal(child.Pid.ToString(), stat[3]); // session
    }

    [Fact]
    public void Kill_and_Dispose_reap_the_child()
    {
        var child = ChildProcess.Start(new SpawnOptions("/bin/sleep", "100"));
        Assert.False(child.HasExited);
        Assert.Throws<TimeoutException>(() => child.WaitForExit(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(new ExitStatus(false, 0, Signals.SIGKILL), child.Kill());
        Assert.False(Directory.Exists($"/proc/{child.Pid}")); // reaped, not a zombie
        child.Dispose();

        var second = ChildProcess.Start(new SpawnOptions("/bin/sleep", "100"));
        second.Dispose();
        Assert.False(Directory.Exists($"/proc/{second.Pid}"));
    }

    [Fact]
    public void Extra_descriptors_are_handed_to_the_child()
    {
        using var pipe = Pipe.Create();
        using var child = ChildProcess.Start(new SpawnOptions("/bin/sh", "-c", "echo through fd 5 >&5")
        {
            Descriptors = [(pipe.WriteFd, 5)],
        });
        Assert.Equal(new ExitStatus(true, 0, 0), child.WaitForExit(Poll.Patience));
        Assert.Equal("through fd 5\n", pipe.Read());
    }

    [Fact]
    public void The_child_starts_in_the_working_directory_given()
    {
        var output = Path.Combine(_directory, "out");
        using var child = ChildProcess.Start(new SpawnOptions("/bin/pwd") { WorkingDirectory = _directory, Stdout = Stdio.ToFile(output) });
        Assert.Equal(new ExitStatus(true, 0, 0), child.WaitForExit(Poll.Patience));
        Assert.Equal(_directory + "\n", File.ReadAllText(output));
    }

    [Fact]
    public void A_missing_program_is_an_error_naming_it()
    {
        var error = Assert.Throws<LinuxException>(() => ChildProcess.Start(new SpawnOptions("/nonexistent/program")));
        Assert.Equal("posix_spawn /nonexistent/program failed: ENOENT (No such file or directory)", error.Message);
    }
}
