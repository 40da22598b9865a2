using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// `ferry restore` of the CRIU-made image sets, judged by each set's own check.sh: the restored program checks its
/// counters, files, offsets and signal state itself, and its in-memory token proves it is the dumped process.
/// </summary>
[Collection(RestoreCollection.Name)]
public class CriuVectorRestoreTests
{
    [CriuVectorTheory]
    [InlineData("counter-static")]
    [InlineData("counter-dynamic")]
    [InlineData("signals")]
    [InlineData("python-sleeper")]
    [InlineData("threads")]
    [InlineData("pipe-tree")]
    public void Restores_and_the_program_checks_itself(string name)
    {
        using var vector = CriuVector.Prepare(name);
        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d", "-v4", "-o", "restore.log");
        Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}\n{Log(vector)}");
        Assert.True(CriuVector.IsAlive(vector.Pid), $"no process {vector.Pid} after the restore\n{Log(vector)}");

        var (exitCode, output) = vector.Check();
        Assert.True(exitCode == 0, $"check.sh: {output}\n{Log(vector)}");
        Assert.Contains("check.sh: PASS", output);
    }

    [CriuVectorFact]
    public void Without_d_ferry_stays_the_parent_writes_the_pidfile_and_exits_with_the_root_status()
    {
        using var vector = CriuVector.Prepare("counter-static");
        var start = new System.Diagnostics.ProcessStartInfo(FerryBinary.Path!) { RedirectStandardError = true };
        foreach (var arg in new[] { "restore", "-D", vector.Images, "--pidfile", "root.pid" }) start.ArgumentList.Add(arg);
        using var ferry = System.Diagnostics.Process.Start(start)!; // ferry itself is never traced here
        var pidFile = Path.Combine(vector.Images, "root.pid"); // relative to the work dir, which defaults to -D
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(pidFile) || File.ReadAllText(pidFile).Trim().Length == 0)
        {
            if (ferry.HasExited)
                Assert.Fail($"ferry exited early: {ferry.StandardError.ReadToEnd()}");
            Assert.True(DateTime.UtcNow < deadline, "no pid file within 20 s");
            Thread.Sleep(20);
        }
        Assert.Equal($"{vector.Pid}", File.ReadAllText(pidFile).Trim());
        var parent = File.ReadAllText($"/proc/{vector.Pid}/stat").Split(") ")[1].Split(' ')[1];
        Assert.Equal($"{ferry.Id}", parent);

        var (exitCode, output) = vector.Check(); // SIGTERM: the counter checks itself and exits 0
        Assert.True(exitCode == 0, output);
        Assert.True(ferry.WaitForExit(TimeSpan.FromSeconds(20)), "ferry did not exit after its restored root did");
        Assert.Equal(0, ferry.ExitCode);
    }

    [CriuVectorTheory]
    [InlineData("unix-socketpair", "sockets")]
    [InlineData("tcp-loopback", "sockets")]
    public void Sets_needing_later_capabilities_are_refused_before_anything_is_created(string name, string capability)
    {
        // The refusal comes before the PID check, so this needs no free PID (a host process may hold it).
        using var vector = CriuVector.Prepare(name, needPid: false);
        var before = CriuVector.Incarnation(vector.Pid);
        var restore = FerryBinary.Run("restore", "-D", vector.Images, "-d");
        Assert.Equal(1, restore.ExitCode);
        Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains(capability, restore.StdErr);
        Assert.True(before == CriuVector.Incarnation(vector.Pid), $"a process appeared at PID {vector.Pid} after a refused restore");
    }

    [Fact(Skip = "restoring unix socketpairs needs the sockets capability")]
    public void Unix_socketpair_restores() { }

    [Fact(Skip = "restoring TCP connections needs the sockets capability")]
    public void Tcp_loopback_restores() { }

    static string Log(CriuVector vector)
    {
        var path = Path.Combine(vector.Images, "restore.log");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(15)) : "(no restore.log)";
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public class RestoreCollection
{
    /// <summary>Restore tests use the fixed PIDs of the image sets, so they run one at a time.</summary>
    public const string Name = "restore";
}
