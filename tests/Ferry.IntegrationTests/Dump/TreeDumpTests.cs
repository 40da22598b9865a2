using System.Globalization;
using System.Text;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Namespaces;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>
/// `ferry dump -t ROOT` of whole process trees and multi-threaded processes: the images say what CRIU's would (pstree,
/// ids, one files.img entry per open file description, one pipe data entry per pipe, one image per shared anonymous
/// object, zombies as TASK_DEAD cores), crit reads them, and every process of the tree is killed, left running or, when
/// the dump is refused, left untouched.
/// </summary>
public sealed class TreeDumpTests
{
    const int SIGUSR1 = 10, SIGUSR2 = 12;

    [CritFact]
    public void A_tree_joined_by_pipes_is_dumped_whole_with_shared_descriptions_and_each_pipe_once()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int root = target.Pid, child1 = target.Value("child1"), child2 = target.Value("child2");

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        var pstree = Images.Entries<pstree_entry>(target.Image("pstree.img"));
        Assert.Equal(
            [(root, 0, root, root, root), (child1, root, root, root, child1), (child2, child1, root, root, child2)],
            pstree.Select(p => ((int)p.Pid, (int)p.Ppid, (int)p.Pgid, (int)p.Sid, (int)Assert.Single(p.Threads))));

        // Every process has its own address space, fs context, handlers and descriptor table; id 1 is the dumper's.
        var pids = new[] { root, child1, child2 };
        var ids = pids.Select(p => Images.Single<task_kobj_ids_entry>(target.Image($"ids-{p}.img"))).ToList();
        var rootIds = Images.Single<inventory_entry>(target.Image("inventory.img")).RootIds;
        Assert.Equal((1u, 1u, 1u, 1u), (rootIds.VmId, rootIds.FilesId, rootIds.FsId, rootIds.SighandId));
        foreach (var id in new Func<task_kobj_ids_entry, uint>[] { i => i.VmId, i => i.FilesId, i => i.FsId, i => i.SighandId })
        {
            Assert.Equal(3, ids.Select(id).Distinct().Count());
            Assert.DoesNotContain(1u, ids.Select(id));
        }
        Assert.All(ids, i => Assert.Equal(i.PidNsId, rootIds.PidNsId));

        var files = Images.Entries<file_entry>(target.Image("files.img")).ToDictionary(f => f.Id);
        var fds = ids.Select(i => Images.Entries<fdinfo_entry>(target.Image($"fdinfo-{i.FilesId}.img")).ToDictionary(f => (int)f.Fd)).ToList();
        // Inherited descriptions are one file each: stdout and the shared log (one offset: three lines written).
        Assert.Single(fds.Select(f => f[1].Id).Distinct());
        Assert.Single(fds.Select(f => f[3].Id).Distinct());
        var shared = files[fds[0][3].Id].Reg;
        Assert.Equal((Path.Combine(target.WorkDir, "shared.log"), 45UL), (shared.Name, shared.Pos));
        // Separate opens of that file are separate descriptions (ids), a dup is the same one.
        var separate = new[] { 20, 21, 22, 23 }.Select(fd => fds[2][fd].Id).ToList();
        Assert.Equal(5, separate.Append(fds[0][3].Id).Distinct().Count());
        Assert.Equal(fds[2][21].Id, fds[2][24].Id);
        Assert.All(separate, id => Assert.Equal(shared.Name, files[id].Reg.Name));

        // Each pipe end is its own description: four pipe files, two per pipe (by inode), data once per pipe.
        var pipeFiles = files.Values.Where(f => f.Type == fd_types.Pipe).ToList();
        var pipeA = PipeOf(fds[0], files, (int)OpenFlags.O_WRONLY);
        Assert.Equal(pipeA, PipeOf(fds[1], files, (int)OpenFlags.O_RDONLY));
        var pipeB = PipeOf(fds[1], files, (int)OpenFlags.O_WRONLY);
        Assert.Equal(pipeB, PipeOf(fds[2], files, (int)OpenFlags.O_RDONLY));
        Assert.NotEqual(pipeA, pipeB);
        Assert.Equal(2, pipeFiles.Count(f => f.Pipe.PipeId == pipeA));
        Assert.Equal(2, pipeFiles.Count(f => f.Pipe.PipeId == pipeB));
        var data = Images.EntriesWithExtra<pipe_data_entry>(target.Image("pipes-data.img"));
        Assert.Equal(new string('A', 100), Encoding.ASCII.GetString(Assert.Single(data, d => d.Message.PipeId == pipeA).Extra));
        Assert.Equal(new string('B', 200), Encoding.ASCII.GetString(Assert.Single(data, d => d.Message.PipeId == pipeB).Extra));

        // Pages ids are distinct per process.
        Assert.Equal(3, pids.Select(p => PageMap.Open(target.Image($"pagemap-{p}.img")).PagesId).Distinct().Count());

        foreach (var image in Directory.GetFiles(target.ImagesDir, "*.img").Where(f => !Path.GetFileName(f).StartsWith("pages-", StringComparison.Ordinal)))
            Crit.Decode(image);
        var ps = Crit.Explore(target.ImagesDir, "ps");
        Assert.All(pids, p => Assert.Contains(p.ToString(CultureInfo.InvariantCulture), ps));

        // --leave-running: all three go on counting, with no tracer left and nothing lost or repeated.
        foreach (var (pid, role) in pids.Zip(Roles))
        {
            Assert.Equal(0, TracerOf(pid));
            var atDump = target.LastCount(role);
            target.WaitFor(() => target.LastCount(role) > atDump + 10, $"{role}'s counter going on after the dump");
            target.AssertCountsWithoutGap(role);
        }
    }

    [RootFact]
    public void Without_leave_running_every_process_of_the_tree_is_killed_after_the_images_are_written()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int child1 = target.Value("child1"), child2 = target.Value("child2");

        var result = target.Dump();

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        Assert.Equal(9, target.Process.WaitForExit(TimeSpan.FromSeconds(10)).Signal);
        foreach (var child in new[] { child1, child2 })
        {
            Poll.Until(() => IsDeadOrGone(child), $"child {child} to be killed"); // (target.WaitFor gives up once the killed root is gone)
            Assert.True(File.Exists(target.Image($"core-{child}.img")));
        }
    }

    [RootFact]
    public void Leave_stopped_leaves_every_process_of_the_tree_stopped_until_SIGCONT()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int[] pids = [target.Pid, target.Value("child1"), target.Value("child2")];

        var result = target.Dump("--leave-stopped");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        foreach (var pid in pids) target.WaitFor(() => StateOf(pid) == 'T', $"process {pid} to be stopped");
        var stoppedAt = Roles.Select(r => target.LastCount(r)).ToList();
        Thread.Sleep(100);
        Assert.Equal(stoppedAt, Roles.Select(r => target.LastCount(r)));
        Assert.All(pids, pid => Assert.Equal(0, TracerOf(pid)));

        foreach (var pid in pids) LibC.kill(pid, 18); // SIGCONT
        foreach (var (role, count) in Roles.Zip(stoppedAt))
        {
            target.WaitFor(() => target.LastCount(role) > count + 10, $"{role}'s counter going on after SIGCONT");
            target.AssertCountsWithoutGap(role);
        }
    }

    [RootFact]
    public void A_job_control_stopped_child_is_written_as_TASK_STOPPED_and_stays_stopped_with_leave_running()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int root = target.Pid, child1 = target.Value("child1"), child2 = target.Value("child2");
        LibC.kill(child1, 19); // SIGSTOP
        target.WaitFor(() => StateOf(child1) == 'T', "child1 to stop");

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        var tc = Images.Single<core_entry>(target.Image($"core-{child1}.img")).Tc;
        Assert.Equal((3u, 19u), (tc.TaskState, tc.StopSigno)); // TASK_STOPPED by SIGSTOP
        foreach (var running in new[] { root, child2 })
        {
            var other = Images.Single<core_entry>(target.Image($"core-{running}.img")).Tc;
            Assert.Equal((1u, false), (other.TaskState, other.HasStopSigno)); // TASK_ALIVE
        }
        // The detach wakes it; it re-enters its stop by itself, a moment later on a busy machine.
        target.WaitFor(() => StateOf(child1) == 'T', "child1 to go back into its stop after the detach");
        var stoppedAt = target.LastCount("child1");
        LibC.kill(child1, 18); // SIGCONT
        target.WaitFor(() => target.LastCount("child1") > stoppedAt + 10, "child1 counting on after SIGCONT");
        target.AssertCountsWithoutGap("child1");
    }

    [RootFact]
    public void A_refused_descriptor_in_a_grandchild_leaves_every_process_of_the_tree_running_untouched()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true, "socket");
        int root = target.Pid, child1 = target.Value("child1"), child2 = target.Value("child2");

        var result = target.Dump();

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"process {child2}", line);
        Assert.Contains("socket", line);
        Assert.Empty(Directory.GetFiles(target.ImagesDir, "core-*.img"));
        foreach (var (pid, role) in new[] { root, child1, child2 }.Zip(Roles))
        {
            Assert.Equal(0, TracerOf(pid));
            var atDump = target.LastCount(role);
            target.WaitFor(() => target.LastCount(role) > atDump + 10, $"{role}'s counter going on after the refused dump");
            target.AssertCountsWithoutGap(role);
        }
    }

    [RootFact]
    public void A_child_traced_by_another_process_stops_the_dump_instead_of_going_missing_from_the_images()
    {
        using var target = DumpTarget.Start("tree_pipes", passWorkDir: true);
        int root = target.Pid, child1 = target.Value("child1"), child2 = target.Value("child2");
        FerryBinary.Result result;
        using (var other = new Ferry.Tracing.Tracer())
        {
            other.Seize(child2); // another tracer holds it: ferry cannot freeze it
            result = target.Dump();
        }

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"process {child2}, a child of {child1}, could not be frozen", line);
        Assert.False(File.Exists(target.Image("pstree.img")));
        foreach (var (pid, role) in new[] { root, child1, child2 }.Zip(Roles))
        {
            Assert.Equal(0, TracerOf(pid));
            var atDump = target.LastCount(role);
            target.WaitFor(() => target.LastCount(role) > atDump + 10, $"{role}'s counter going on after the refused dump");
        }
    }

    [RootFact]
    public void Two_processes_in_one_address_space_are_refused_with_one_line_and_left_as_they_were()
    {
        using var target = DumpTarget.Start("tree_vfork", passWorkDir: false);
        var child = int.Parse(File.ReadAllText($"/proc/{target.Pid}/task/{target.Pid}/children").Trim(), CultureInfo.InvariantCulture);

        var result = target.Dump();

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"process {child} shares its address space (CLONE_VM) with process {target.Pid}", line);
        Assert.Equal((0, 0), (TracerOf(target.Pid), TracerOf(child)));
        Assert.False(target.Process.HasExited);
    }

    [CritFact]
    public void Each_of_nine_threads_has_its_core_and_the_pstree_lists_them_leader_first()
    {
        using var target = DumpTarget.Start("threads_counters", passWorkDir: true);
        var pid = target.Pid;
        var tids = Directory.GetDirectories($"/proc/{pid}/task").Select(d => uint.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(9, tids.Count);

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        var pstree = Assert.Single(Images.Entries<pstree_entry>(target.Image("pstree.img")));
        Assert.Equal((uint)pid, pstree.Threads[0]);
        Assert.Equal(tids, pstree.Threads.Order());
        foreach (var tid in tids)
        {
            var core = Images.Single<core_entry>(target.Image($"core-{tid}.img"));
            Assert.NotNull(core.ThreadInfo);
            Assert.Equal(tid == pid, core.Tc is not null); // the process-wide part is the leader's only
            Crit.Decode(target.Image($"core-{tid}.img"));
        }
        Assert.Single(Directory.GetFiles(target.ImagesDir, "ids-*.img")); // threads share every id

        for (var n = 1; n <= 8; n++)
        {
            var role = $"thread-{n}";
            var atDump = target.LastCount(role);
            target.WaitFor(() => target.LastCount(role) > atDump + 10, $"{role}'s counter going on after the dump");
            target.AssertCountsWithoutGap(role);
        }
    }

    [RootFact]
    public void Threads_blocked_in_a_mutex_and_a_condition_wait_are_saved_restartable_and_go_on_after_the_dump()
    {
        using var target = DumpTarget.Start("threads_blocked", passWorkDir: true);
        int locker = target.Value("locker"), waiter = target.Value("waiter");

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        const ulong futex = 202;
        foreach (var tid in new[] { locker, waiter })
        {
            // Interrupted futex waits are stored restart-adjusted, as CRIU does: ax = orig_ax, rip back on the syscall.
            var regs = Images.Single<core_entry>(target.Image($"core-{tid}.img")).ThreadInfo.Gpregs;
            Assert.Equal((futex, futex), (regs.OrigAx, regs.Ax));
        }
        target.Process.Signal(SIGUSR1);
        var unblocked = Path.Combine(target.WorkDir, "unblocked.log");
        target.WaitFor(() => File.Exists(unblocked) && File.ReadAllLines(unblocked).Length == 2, "both threads unblocked");
        Assert.Equal(["locker unblocked", "waiter unblocked"], File.ReadAllLines(unblocked).Order());
    }

    [CritFact]
    public void Zombie_children_are_written_as_CRIU_writes_them_and_stay_reapable_with_their_status()
    {
        using var target = DumpTarget.Start("tree_zombie", passWorkDir: true);
        int root = target.Pid, exited = target.Value("exited"), killed = target.Value("killed");

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        var pstree = Images.Entries<pstree_entry>(target.Image("pstree.img"));
        Assert.Equal(
            [(root, 0, root), (exited, root, exited), (killed, root, killed)],
            pstree.Select(p => ((int)p.Pid, (int)p.Ppid, (int)Assert.Single(p.Threads))));
        Assert.All(pstree, p => Assert.Equal(((uint)root, (uint)root), (p.Pgid, p.Sid)));
        foreach (var (zombie, exitCode) in new[] { (exited, 7 << 8), (killed, SIGUSR2) })
        {
            var core = Images.Single<core_entry>(target.Image($"core-{zombie}.img"));
            Assert.Equal((2u, (uint)exitCode), (core.Tc.TaskState, core.Tc.ExitCode)); // TASK_DEAD, wait status
            Assert.Null(core.ThreadInfo);
            Assert.Equal("tree_zombie", core.Tc.Comm);
            Assert.False(File.Exists(target.Image($"ids-{zombie}.img")));
            Assert.False(File.Exists(target.Image($"mm-{zombie}.img")));
            var crit = Crit.Decode(target.Image($"core-{zombie}.img"))["entries"]![0]!["tc"]!;
            Assert.Equal(exitCode, (int)crit["exit_code"]!);
        }
        Assert.Contains("tree_zombie", Crit.Explore(target.ImagesDir, "ps"));

        target.Process.Signal(SIGUSR1);
        var reaped = Path.Combine(target.WorkDir, "reaped.txt");
        target.WaitFor(() => File.Exists(reaped) && File.ReadAllText(reaped).EndsWith('\n'), "the parent reaping its zombies");
        Assert.Equal("exited=exit:7 killed=signal:12\n", File.ReadAllText(reaped));
    }

    [CritFact]
    public void Shared_anonymous_memory_of_two_processes_is_one_object_in_one_image()
    {
        using var target = DumpTarget.Start("tree_shmem", passWorkDir: true);
        int root = target.Pid, child = target.Value("child");
        var address = target.Address("address");
        var inode = ulong.Parse(File.ReadAllLines($"/proc/{root}/maps")
            .First(l => l.StartsWith($"{address:x}-", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[4], CultureInfo.InvariantCulture);

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        foreach (var pid in new[] { root, child })
        {
            var vma = Images.Single<mm_entry>(target.Image($"mm-{pid}.img")).Vmas.Single(v => v.Start == address);
            Assert.Equal(inode, vma.Shmid);
        }
        var image = Assert.Single(Directory.GetFiles(target.ImagesDir, "pagemap-shmem-*.img"));
        Assert.Equal($"pagemap-shmem-{inode}.img", Path.GetFileName(image));
        using var pages = PageMap.Open(image);
        var page = new byte[4096];
        Assert.Equal(4096, pages.Read(4096, page));
        Assert.True(page.Select((b, i) => b == (byte)((i * 7 + 3) & 0xff)).All(ok => ok), "the pattern page differs in the image");
        Crit.Decode(image);

        // Both go on, each seeing the other's counter move.
        foreach (var role in new[] { "parent", "child" })
        {
            var seen = target.LastPair(role).Other;
            target.WaitFor(() => target.LastPair(role).Other > seen + 10, $"{role} seeing the other's counter after the dump");
        }
    }

    [CritFact]
    public void A_tree_in_a_Ferry_pid_namespace_is_dumped_from_the_init_s_child_with_the_pids_inside()
    {
        var root = Directory.CreateTempSubdirectory("ferry-dump-ns-").FullName;
        var work = Path.Combine(root, "work");
        var images = Path.Combine(root, "images");
        Directory.CreateDirectory(work);
        try
        {
            using var program = NamespacedProgram.Start("/bin/sh",
                ["-c", "exec \"$0\" \"$1\" > \"$1/stdout\" 2>&1", TestTargets.Path("tree_pipes"), work]);
            program.Proceed();
            var stdout = Path.Combine(work, "stdout");
            Poll.Until(() => File.Exists(stdout) && File.ReadAllText(stdout).Contains("ready\n"), "tree_pipes to be ready in its namespace");
            var inner = File.ReadAllLines(stdout).Where(l => l.Contains('=')).ToDictionary(l => l.Split('=')[0], l => uint.Parse(l.Split('=')[1], CultureInfo.InvariantCulture));

            // Named by its main process's PID here; the init is never dumped.
            var result = FerryBinary.Run("dump", "-t", program.ProgramPid.ToString(CultureInfo.InvariantCulture), "-D", images, "-o", "dump.log", "-v4", "--leave-running");

            Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{File.ReadAllText(Path.Combine(images, "dump.log"))}");
            var pstree = Images.Entries<pstree_entry>(Path.Combine(images, "pstree.img"));
            Assert.Equal([(2u, 0u), (inner["child1"], 2u), (inner["child2"], inner["child1"])], pstree.Select(p => (p.Pid, p.Ppid)));
            var rootIds = Images.Single<inventory_entry>(Path.Combine(images, "inventory.img")).RootIds;
            foreach (var entry in pstree)
            {
                Assert.Equal(entry.Pid, Assert.Single(entry.Threads));
                var ids = Images.Single<task_kobj_ids_entry>(Path.Combine(images, $"ids-{entry.Pid}.img"));
                Assert.NotEqual(rootIds.PidNsId, ids.PidNsId);
                Assert.NotEqual(rootIds.MntNsId, ids.MntNsId);
                Assert.Equal(rootIds.NetNsId, ids.NetNsId);
                Assert.True(File.Exists(Path.Combine(images, $"core-{entry.Pid}.img")));
                Assert.True(File.Exists(Path.Combine(images, $"pagemap-{entry.Pid}.img")));
            }
            Assert.Contains("tree_pipes", Crit.Explore(images, "ps"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [RootFact]
    public void Each_process_and_thread_keeps_its_own_credentials()
    {
        using var target = DumpTarget.Start("tree_creds", passWorkDir: true);
        int root = target.Pid, child = target.Value("child"), thread = target.Value("thread");

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        creds_entry Creds(int tid) => Images.Single<core_entry>(target.Image($"core-{tid}.img")).ThreadCore.Creds;
        var leader = Creds(root);
        Assert.Equal((0u, 0u, 0u, 0u), (leader.Uid, leader.Euid, leader.Gid, leader.Egid));
        var switched = Creds(thread);
        Assert.Equal((2000u, 2000u, 2000u, 2000u, 2000u, 2000u), (switched.Uid, switched.Euid, switched.Suid, switched.Gid, switched.Egid, switched.Sgid));
        Assert.Equal([0u, 0u], switched.CapEff); // a non-root thread loses its effective capabilities
        var other = Creds(child);
        Assert.Equal((1000u, 1000u, 1000u, 1000u), (other.Uid, other.Euid, other.Gid, other.Egid));
        Assert.Equal([1001u], other.Groups);
        Assert.Equal([0u, 0u], other.CapEff);

        foreach (var role in new[] { "parent", "thread", "child" })
        {
            var atDump = target.LastCount(role);
            target.WaitFor(() => target.LastCount(role) > atDump + 10, $"{role}'s counter going on after the dump");
            target.AssertCountsWithoutGap(role);
        }
    }

    static readonly string[] Roles = ["parent", "child1", "child2"];

    /// <summary>
    /// The pipe (inode) of the one pipe end a process of the tree made holds with this access mode; pipes the test host
    /// itself holds (and so passed down to the tree) are not the tree's.
    /// </summary>
    static uint PipeOf(Dictionary<int, fdinfo_entry> fds, Dictionary<uint, file_entry> files, int access)
    {
        var hostPipes = Directory.GetFileSystemEntries("/proc/self/fd").Select(f => new FileInfo(f).LinkTarget ?? "")
            .Where(t => t.StartsWith("pipe:[", StringComparison.Ordinal)).Select(t => uint.Parse(t[6..^1], CultureInfo.InvariantCulture)).ToHashSet();
        return fds.Values.Where(f => f.Type == fd_types.Pipe).Select(f => files[f.Id].Pipe)
            .Single(p => (p.Flags & 3) == access && !hostPipes.Contains(p.PipeId)).PipeId;
    }

    static int TracerOf(int pid) => int.Parse(File.ReadAllLines($"/proc/{pid}/status")
        .First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal))[10..].Trim(), CultureInfo.InvariantCulture);

    static char StateOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    static bool IsDeadOrGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

}
