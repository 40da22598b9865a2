using System.Globalization;
using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// Round trips of process trees and multi-threaded processes through `ferry dump` (which kills them) and
/// `ferry restore -d`: parentage, threads, sessions, shared descriptions, pipes, shared memory and zombies come back,
/// and the programs' own logs show they carried on.
/// </summary>
[Collection(RestoreCollection.Name)]
public sealed partial class TreeRoundTripTests
{
    const int SIGUSR1 = 10, KCMP_FILE = 0;

    [RootFact]
    public void Eight_counting_threads_all_count_on_under_their_thread_ids()
    {
        using var target = DumpTarget.Start("threads_counters", passWorkDir: true);
        var tids = Tids(target.Pid);
        var atDump = RoundTrip(target, null);
        try
        {
            Assert.Equal(tids, Tids(target.Pid));
            for (int n = 1; n <= 8; n++)
            {
                string role = $"thread-{n}";
                Poll.Until(() => LastCount(target, role) > atDump[role] + 10, $"{role} counting on after the restore");
                AssertConsecutive(target, role);
            }
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    [RootFact]
    public void Threads_blocked_in_a_mutex_and_a_condition_wait_wake_up_after_the_restore()
    {
        using var target = DumpTarget.Start("threads_blocked", passWorkDir: true);
        RoundTrip(target, null);
        try
        {
            LibC.kill(target.Pid, SIGUSR1);
            var unblocked = Path.Combine(target.WorkDir, "unblocked.log");
            Poll.Until(() => File.Exists(unblocked) && File.ReadAllLines(unblocked).Length == 2, "both threads to wake up");
            Assert.Equal(["locker unblocked", "waiter unblocked"], File.ReadAllLines(unblocked).Order());
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    [RootFact]
    public void A_tree_joined_by_pipes_comes_back_with_its_parentage_shared_offset_and_pipe_data()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int root = target.Pid, child1 = Value(target, "child1"), child2 = Value(target, "child2");
        var atDump = RoundTrip(target, ["parent", "child1", "child2"]);
        try
        {
            Assert.Equal((root, root), (Parentage(root).Pgid, Parentage(root).Sid));
            Assert.Equal((root, root, root), Parentage(child1));
            Assert.Equal((child1, root, root), Parentage(child2));
            foreach (var (pid, role) in new[] { (root, "parent"), (child1, "child1"), (child2, "child2") })
            {
                Poll.Until(() => LastCount(target, role) > atDump[role] + 10, $"{role} counting on after the restore");
                AssertConsecutive(target, role);
            }
            // The log all three inherited is still one open file description: one offset.
            Assert.Equal(0, LibC.syscall(Sys.kcmp, root, child1, KCMP_FILE, 3, 3, 0));
            Assert.Equal(0, LibC.syscall(Sys.kcmp, root, child2, KCMP_FILE, 3, 3, 0));

            LibC.kill(child1, SIGUSR1);
            LibC.kill(child2, SIGUSR1);
            Assert.Equal(new string('A', 100), WaitForFile(target, "child1-pipe.txt", 100));
            Assert.Equal(new string('B', 200), WaitForFile(target, "child2-pipe.txt", 200));
        }
        finally
        {
            Kill(root, child1, child2);
        }
    }

    [RootFact]
    public void Processes_sharing_one_descriptor_table_share_it_again()
    {
        const int KCMP_FILES = 2;
        using var target = DumpTarget.Start("tree_clone_files", passWorkDir: true);
        int parent = target.Pid, child = Value(target, "child");
        Assert.Equal(0, LibC.syscall(Sys.kcmp, parent, child, KCMP_FILES, 0, 0, 0));
        var atDump = RoundTrip(target, ["parent", "child"]);
        try
        {
            Assert.Equal(0, LibC.syscall(Sys.kcmp, parent, child, KCMP_FILES, 0, 0, 0));
            foreach (var role in atDump.Keys)
            {
                Poll.Until(() => LastCount(target, role) > atDump[role] + 10, $"{role} counting on after the restore");
                AssertConsecutive(target, role);
            }
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootFact]
    public void Two_processes_sharing_anonymous_memory_still_see_each_others_writes()
    {
        using var target = DumpTarget.Start("tree_shmem", passWorkDir: true);
        int parent = target.Pid, child = Value(target, "child");
        RoundTrip(target, null);
        try
        {
            var (parentOwn, _) = LastPair(target, "parent");
            var (childOwn, _) = LastPair(target, "child");
            // Each sees the other's counter move past where the other was after the restore: the page is shared.
            Poll.Until(() => LastPair(target, "parent").Other > childOwn + 10, "the parent to see the child's counter move");
            Poll.Until(() => LastPair(target, "child").Other > parentOwn + 10, "the child to see the parent's counter move");
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootFact]
    public void Zombie_children_are_zombies_again_and_are_reaped_with_their_dumped_status()
    {
        using var target = DumpTarget.Start("tree_zombie", passWorkDir: true);
        int parent = target.Pid, exited = Value(target, "exited"), killed = Value(target, "killed");
        RoundTrip(target, ["parent"]);
        try
        {
            Assert.Equal('Z', State(exited));
            Assert.Equal('Z', State(killed));
            Assert.Equal(parent, Parentage(exited).Ppid);
            LibC.kill(parent, SIGUSR1);
            Assert.Equal("exited=exit:7 killed=signal:12", WaitForFile(target, "reaped.txt", 1).Trim());
        }
        finally
        {
            Kill(parent);
        }
    }

    [RootFact]
    public void A_shell_pipeline_dumped_mid_stream_delivers_every_byte_after_the_restore()
    {
        const long Bytes = 800_000_000;
        using var target = DumpTarget.StartProgram("/bin/sh", "-c", $"echo ready; yes | head -c {Bytes} | md5sum > md5.txt");
        RoundTrip(target, []);
        var md5 = Path.Combine(target.WorkDir, "md5.txt");
        try
        {
            Poll.Until(() => File.Exists(md5) && File.ReadAllText(md5).Contains('-'), "the pipeline to finish");
            Assert.Equal(Md5OfYes(Bytes), File.ReadAllText(md5).Split(' ')[0]);
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    [RootFact]
    public void A_python_multiprocessing_pool_finishes_its_work_after_the_restore()
    {
        using var target = DumpTarget.StartProgram(TestTargets.Path("python_pool"));
        RoundTrip(target, []);
        var results = Path.Combine(target.WorkDir, "results.log");
        try
        {
            Poll.Until(() => File.ReadAllText(results).Contains("total"), "the pool to finish");
            var lines = File.ReadAllLines(results);
            Assert.Equal(Enumerable.Range(0, 400).Select(i => $"{i} {i * i}"), lines[..^1]);
            Assert.Equal($"total {Enumerable.Range(0, 400).Sum(i => i * i)}", lines[^1]);
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    /// <summary>The MD5 of the first <paramref name="bytes"/> bytes `yes` writes ("y\n" again and again).</summary>
    static string Md5OfYes(long bytes)
    {
        using var md5 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
        var block = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("y\n", 1 << 19)));
        for (long left = bytes; left > 0; left -= block.Length)
            md5.AppendData(block, 0, (int)Math.Min(left, block.Length));
        return Convert.ToHexStringLower(md5.GetHashAndReset());
    }

    /// <summary>
    /// Dumps the tree (killing it), waits until its PIDs are free, restores it detached; returns the last count at
    /// dump of each role's log (by default every DIR/*.log). <paramref name="dumpOptions"/> go to `ferry dump`.
    /// </summary>
    static Dictionary<string, long> RoundTrip(DumpTarget target, string[]? roles, params string[] dumpOptions)
    {
        CriuVector.BecomeSubreaper();
        var pids = new[] { target.Pid }.Concat(Children(target.Pid)).ToList();
        var dump = target.Dump(dumpOptions);
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        foreach (var pid in pids)
            CriuVector.WaitUntilGone(pid);
        var atDump = (roles ?? Directory.GetFiles(target.WorkDir, "*.log").Select(f => Path.GetFileNameWithoutExtension(f)!))
            .ToDictionary(r => r, r => LastCount(target, r));

        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d", "-v4", "-o", "restore.log");
        Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}\n{Tail(target.Image("restore.log"))}");
        Assert.True(CriuVector.IsAlive(target.Pid), $"no process {target.Pid} after the restore");
        return atDump;
    }

    static IEnumerable<int> Children(int pid) =>
        File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)
            .SelectMany(child => new[] { child }.Concat(Children(child)));

    static void Kill(params int[] pids)
    {
        foreach (var pid in pids)
            LibC.kill(pid, Targets.TargetProcess.SIGKILL);
        foreach (var pid in pids)
            ReapOrWait(pid);
    }

    /// <summary>The restored root came back to this (subreaper) test process: reap it; others go with their parents.</summary>
    static unsafe void ReapOrWait(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (CriuVector.Exists(pid) && DateTime.UtcNow < deadline)
        {
            int status;
            LibC.waitpid(pid, &status, Wait.WNOHANG | Wait.__WALL);
            Thread.Sleep(5);
        }
    }

    static List<int> Tids(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).Order().ToList();

    static (int Ppid, int Pgid, int Sid) Parentage(int pid)
    {
        var fields = Stat(pid);
        return (int.Parse(fields[1]), int.Parse(fields[2]), int.Parse(fields[3]));
    }

    static char State(int pid) => Stat(pid)[0][0];

    /// <summary>/proc/PID/stat after the comm: state, ppid, pgrp, session, ...</summary>
    static string[] Stat(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        return text[(text.LastIndexOf(')') + 2)..].Split(' ');
    }

    static int Value(DumpTarget target, string key)
    {
        var line = target.Output.Split('\n').First(l => l.StartsWith(key + "=", StringComparison.Ordinal));
        return int.Parse(line.AsSpan(key.Length + 1), CultureInfo.InvariantCulture);
    }

    static string WaitForFile(DumpTarget target, string name, int length)
    {
        var path = Path.Combine(target.WorkDir, name);
        Poll.Until(() => File.Exists(path) && new FileInfo(path).Length >= length, $"{name} to be written");
        return File.ReadAllText(path);
    }

    static List<string> Lines(DumpTarget target, string role) =>
        File.ReadAllLines(Path.Combine(target.WorkDir, role + ".log")).Where(l => l.Length > 0).ToList();

    static long LastCount(DumpTarget target, string role) =>
        Lines(target, role).Select(l => long.Parse(l.Split(' ')[0], CultureInfo.InvariantCulture)).LastOrDefault();

    static (long Own, long Other) LastPair(DumpTarget target, string role)
    {
        var last = Lines(target, role)[^1].Split(' ');
        return (long.Parse(last[0], CultureInfo.InvariantCulture), long.Parse(last[1], CultureInfo.InvariantCulture));
    }

    static void AssertConsecutive(DumpTarget target, string role)
    {
        var values = Lines(target, role).Select(long.Parse).ToList();
        Assert.Equal(Enumerable.Range(1, values.Count).Select(i => (long)i), values);
    }

    static string Tail(string path) => File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(15)) : "";
}
