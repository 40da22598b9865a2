using System.Globalization;
using Ferry.Images.Protos;
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
                Poll.Until(() => target.LastCount(role) > atDump[role] + 10, $"{role} counting on after the restore");
                target.AssertCountsWithoutGap(role);
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
        int root = target.Pid, child1 = target.Value("child1"), child2 = target.Value("child2");
        var atDump = RoundTrip(target, ["parent", "child1", "child2"]);
        try
        {
            Assert.Equal((root, root), (Parentage(root).Pgid, Parentage(root).Sid));
            Assert.Equal((root, root, root), Parentage(child1));
            Assert.Equal((child1, root, root), Parentage(child2));
            foreach (var (pid, role) in new[] { (root, "parent"), (child1, "child1"), (child2, "child2") })
            {
                Poll.Until(() => target.LastCount(role) > atDump[role] + 10, $"{role} counting on after the restore");
                target.AssertCountsWithoutGap(role);
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
    public void An_O_TMPFILE_file_and_a_locked_area_come_back_with_their_contents()
    {
        using var target = DumpTarget.Start("tmpfile_locked", passWorkDir: true);
        int fd = target.Value("fd");
        ulong locked = target.Address("locked");
        RoundTrip(target, []);
        try
        {
            Assert.Equal("tmpfile contents\n", File.ReadAllText($"/proc/{target.Pid}/fd/{fd}"));
            var bytes = new byte[16 * 4096];
            using (var memory = new Ferry.Tracing.RemoteMemory(target.Pid))
                memory.Read(locked, bytes);
            Assert.All(Enumerable.Range(0, bytes.Length), i => Assert.Equal((byte)((i * 13 + 5) & 0xff), bytes[i]));
            Assert.Contains("VmLck:", File.ReadAllText($"/proc/{target.Pid}/status"));
            Assert.DoesNotContain("VmLck:\t       0 kB", File.ReadAllText($"/proc/{target.Pid}/status"));
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    [RootFact]
    public void A_job_control_stopped_process_is_stopped_again_and_counts_on_when_continued()
    {
        using var target = DumpTarget.Start("tree_clone", passWorkDir: true, "files");
        int parent = target.Pid, child = target.Value("child");
        LibC.kill(parent, 19); // SIGSTOP to each
        LibC.kill(child, 19);
        Poll.Until(() => State(parent) == 'T' && State(child) == 'T', "both to stop");
        var atDump = RoundTrip(target, ["parent", "child"]);
        try
        {
            // Released with the stop signal pending, each passes through R on its way into the stop.
            Poll.Until(() => State(parent) == 'T' && State(child) == 'T', "both to be stopped again");
            Thread.Sleep(100);
            Assert.Equal(atDump["parent"], target.LastCount("parent"));
            Assert.Equal(atDump["child"], target.LastCount("child"));
            LibC.kill(parent, 18); // SIGCONT
            LibC.kill(child, 18);
            foreach (var role in atDump.Keys)
            {
                Poll.Until(() => target.LastCount(role) > atDump[role] + 10, $"{role} counting on once continued");
                target.AssertCountsWithoutGap(role);
            }
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootFact]
    public void A_process_group_whose_leader_is_gone_is_made_again_by_a_helper_that_leaves_no_trace()
    {
        using var target = DumpTarget.Start("tree_orphan_group", passWorkDir: true);
        int parent = target.Pid, group = target.Value("group"), member = target.Value("member");
        Poll.Until(() => Parentage(member).Ppid == parent, "the member to be adopted by the parent");
        Assert.Equal(group, Parentage(member).Pgid);
        var atDump = RoundTrip(target, ["member"]);
        try
        {
            Assert.Equal((parent, group, parent), Parentage(member));
            Assert.False(CriuVector.Exists(group), $"the helper {group} is still there");
            Assert.Equal([member], Children(parent));
            Poll.Until(() => target.LastCount("member") > atDump["member"] + 10, "the member counting on after the restore");
            target.AssertCountsWithoutGap("member");
        }
        finally
        {
            Kill(parent, member);
        }
    }

    [RootFact]
    public void Processes_sharing_one_descriptor_table_share_it_again()
    {
        const int KCMP_FILES = 2;
        using var target = DumpTarget.Start("tree_clone", passWorkDir: true, "files");
        int parent = target.Pid, child = target.Value("child");
        Assert.Equal(0, LibC.syscall(Sys.kcmp, parent, child, KCMP_FILES, 0, 0, 0));
        var atDump = RoundTrip(target, ["parent", "child"]);
        try
        {
            Assert.Equal(0, LibC.syscall(Sys.kcmp, parent, child, KCMP_FILES, 0, 0, 0));
            foreach (var role in atDump.Keys)
            {
                Poll.Until(() => target.LastCount(role) > atDump[role] + 10, $"{role} counting on after the restore");
                target.AssertCountsWithoutGap(role);
            }
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootFact]
    public void A_parent_and_child_sharing_cwd_and_umask_share_them_again()
    {
        const int KCMP_FS = 3;
        using var target = DumpTarget.Start("tree_clone", passWorkDir: true, "fs");
        int parent = target.Pid, child = target.Value("child");
        Assert.Equal(0, LibC.syscall(Sys.kcmp, parent, child, KCMP_FS, 0, 0, 0));
        var atDump = RoundTrip(target, ["parent", "child"]);
        try
        {
            Assert.Equal(0, LibC.syscall(Sys.kcmp, parent, child, KCMP_FS, 0, 0, 0));
            // The child moves and changes its umask: the parent, sharing its fs context, has moved too.
            LibC.kill(child, Targets.TargetProcess.SIGUSR1);
            Poll.Until(() => new DirectoryInfo($"/proc/{parent}/cwd").LinkTarget == Path.Combine(target.WorkDir, "moved"), "the parent's cwd to follow the child's");
            Assert.Contains("Umask:\t0027", File.ReadAllText($"/proc/{parent}/status"));
            foreach (var role in atDump.Keys)
            {
                Poll.Until(() => target.LastCount(role) > atDump[role] + 10, $"{role} counting on after the restore");
                target.AssertCountsWithoutGap(role);
            }
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootTheory]
    [InlineData("anonymous")]
    [InlineData("memfd")]
    public void Two_processes_sharing_memory_still_see_each_others_writes(string kind)
    {
        using var target = DumpTarget.Start("tree_shmem", passWorkDir: true, kind);
        int parent = target.Pid, child = target.Value("child");
        RoundTrip(target, null);
        try
        {
            var (parentOwn, _) = target.LastPair("parent");
            var (childOwn, _) = target.LastPair("child");
            // Each sees the other's counter move past where the other was after the restore: the page is shared.
            Poll.Until(() => target.LastPair("parent").Other > childOwn + 10, "the parent to see the child's counter move");
            Poll.Until(() => target.LastPair("child").Other > parentOwn + 10, "the child to see the parent's counter move");
        }
        finally
        {
            Kill(parent, child);
        }
    }

    [RootTheory]
    [InlineData(12)] // SIGUSR2
    [InlineData(9)]  // SIGKILL, which a task cannot reset the action of
    public void Zombie_children_are_zombies_again_and_are_reaped_with_their_dumped_status(int signal)
    {
        using var target = DumpTarget.Start("tree_zombie", passWorkDir: true, $"{signal}");
        int parent = target.Pid, exited = target.Value("exited"), killed = target.Value("killed");
        RoundTrip(target, ["parent"]);
        try
        {
            Assert.Equal('Z', State(exited));
            Assert.Equal('Z', State(killed));
            Assert.Equal(parent, Parentage(exited).Ppid);
            LibC.kill(parent, SIGUSR1);
            Assert.Equal($"exited=exit:7 killed=signal:{signal}", WaitForFile(target, "reaped.txt", 1).Trim());
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
        var dump = target.Dump(dumpOptions);
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        // Every process the images hold, not the ones listed before the dump: a shell may fork more meanwhile.
        foreach (var process in Dump.Images.Entries<pstree_entry>(target.Image("pstree.img")))
            CriuVector.WaitUntilGone((int)process.Pid);
        var atDump = (roles ?? Directory.GetFiles(target.WorkDir, "*.log").Select(f => Path.GetFileNameWithoutExtension(f)!))
            .ToDictionary(r => r, r => target.LastCount(r));

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

    static string WaitForFile(DumpTarget target, string name, int length)
    {
        var path = Path.Combine(target.WorkDir, name);
        Poll.Until(() => File.Exists(path) && new FileInfo(path).Length >= length, $"{name} to be written");
        return File.ReadAllText(path);
    }

    static string Tail(string path) => File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(15)) : "";
}
