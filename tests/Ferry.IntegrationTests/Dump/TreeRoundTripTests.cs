using System.Globalization;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>
/// Dump of a whole tree (killed), then `ferry restore -d` under the same PIDs: what the tree images promise (one
/// description per file, pipes with their data, shared memory, zombies with their status) holds after the restore.
/// </summary>
public sealed class TreeRoundTripTests
{
    const int SIGUSR1 = 10;

    [RoundTripFact]
    public void A_tree_joined_by_pipes_counts_on_in_every_process_and_finds_its_pipe_data()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int[] pids = [target.Pid, Value(target, "child1"), Value(target, "child2")];
        var atDump = Roles.Select(r => Lines(target, r).Count).ToList();

        DumpAndRestore(target, pids);
        try
        {
            foreach (var (role, lines) in Roles.Zip(atDump))
            {
                WaitFor(() => Lines(target, role).Count > lines + 20, $"the restored {role} to count on");
                Assert.Equal(Enumerable.Range(1, Lines(target, role).Count).Select(i => i.ToString(CultureInfo.InvariantCulture)), Lines(target, role));
            }
            LibC.kill(pids[1], SIGUSR1);
            LibC.kill(pids[2], SIGUSR1);
            var pipeA = Path.Combine(target.WorkDir, "child1-pipe.txt");
            var pipeB = Path.Combine(target.WorkDir, "child2-pipe.txt");
            WaitFor(() => File.Exists(pipeA) && File.Exists(pipeB) && new FileInfo(pipeA).Length == 100 && new FileInfo(pipeB).Length == 200, "the children to drain their pipes");
            Assert.Equal(new string('A', 100), File.ReadAllText(pipeA));
            Assert.Equal(new string('B', 200), File.ReadAllText(pipeB));
        }
        finally
        {
            KillRestored(pids);
        }
    }

    [RoundTripFact]
    public void Zombies_come_back_as_zombies_and_are_reaped_with_their_status()
    {
        using var target = DumpTarget.Start("tree_zombie", passWorkDir: true);
        int[] pids = [target.Pid, Value(target, "exited"), Value(target, "killed")];

        DumpAndRestore(target, pids);
        try
        {
            Assert.All(pids[1..], z => Assert.Equal('Z', State(z)));
            LibC.kill(pids[0], SIGUSR1);
            var reaped = Path.Combine(target.WorkDir, "reaped.txt");
            WaitFor(() => File.Exists(reaped) && File.ReadAllText(reaped).EndsWith('\n'), "the restored parent to reap its zombies");
            Assert.Equal("exited=exit:7 killed=signal:12\n", File.ReadAllText(reaped));
        }
        finally
        {
            KillRestored(pids);
        }
    }

    [RoundTripFact]
    public void Two_processes_share_their_anonymous_memory_again()
    {
        using var target = DumpTarget.Start("tree_shmem", passWorkDir: true);
        int[] pids = [target.Pid, Value(target, "child")];

        DumpAndRestore(target, pids);
        try
        {
            foreach (var role in new[] { "parent", "child" })
            {
                var seen = OtherCounter(target, role);
                WaitFor(() => OtherCounter(target, role) > seen + 10, $"the restored {role} to see the other's counter move");
            }
        }
        finally
        {
            KillRestored(pids);
        }
    }

    static readonly string[] Roles = ["parent", "child1", "child2"];

    /// <summary>Dumps (killing the tree), waits until every PID is free again (orphans are reaped by init), restores.</summary>
    static void DumpAndRestore(DumpTarget target, int[] pids)
    {
        var dump = target.Dump();
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        foreach (var pid in pids) WaitFor(() => !Directory.Exists($"/proc/{pid}"), $"PID {pid} to be free", 20);
        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d", "-o", "restore.log", "-v4");
        var log = File.Exists(target.Image("restore.log")) ? File.ReadAllText(target.Image("restore.log")) : "";
        Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}\n{log}");
    }

    /// <summary>The restored tree is not ours: kill every process and wait until init has reaped them.</summary>
    static void KillRestored(int[] pids)
    {
        foreach (var pid in pids) LibC.kill(pid, 9);
        foreach (var pid in pids) WaitFor(() => !Directory.Exists($"/proc/{pid}"), $"restored process {pid} to be gone", 20);
    }

    static int Value(DumpTarget target, string key)
    {
        var line = target.Output.Split('\n').First(l => l.StartsWith(key + "=", StringComparison.Ordinal));
        return int.Parse(line.AsSpan(key.Length + 1), CultureInfo.InvariantCulture);
    }

    static char State(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    static List<string> Lines(DumpTarget target, string role) =>
        File.ReadAllLines(Path.Combine(target.WorkDir, role + ".log")).Where(l => l.Length > 0).ToList();

    static long OtherCounter(DumpTarget target, string role) =>
        long.Parse(Lines(target, role)[^1].Split(' ')[1], CultureInfo.InvariantCulture);

    static void WaitFor(Func<bool> condition, string what, double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {what} after {seconds} s");
            Thread.Sleep(10);
        }
    }
}
