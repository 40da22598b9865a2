using System.Globalization;
using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>What happens to the process: killed after a dump (CRIU's default), running on with --leave-running,
/// untouched after a refused dump; and the one-line errors.</summary>
public sealed class DumpLifecycleTests
{
    [RootFact]
    public void Leave_running_lets_the_counter_go_on_without_a_gap_or_repeat()
    {
        using var target = DumpTarget.Start("dump_counter", passWorkDir: true);
        var result = target.Dump("--leave-running");
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        var atDump = Counter(target);
        target.WaitFor(() => Counter(target) > atDump + 20, "the counter going on after the dump");
        AssertConsecutive(target);
        Assert.True(File.Exists(target.Image($"core-{target.Pid}.img")));
    }

    [RootFact]
    public void A_process_that_made_a_time_namespace_for_its_children_is_refused_and_left_running()
    {
        // unshare(CLONE_NEWTIME) moves only the children to come; without an exec the process stays where it was.
        using var target = DumpTarget.StartProgram("/usr/bin/python3", "-c",
            "import ctypes, time; assert ctypes.CDLL(None).unshare(0x80) == 0; print('ready', flush=True); time.sleep(600)");
        var result = target.Dump();
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("time namespace", line);
        target.WaitFor(() => target.Status() == ('S', 0), "the process asleep again without a tracer");
    }

    [RootFact]
    public void A_deleted_file_above_the_ghost_limit_stops_the_dump_and_a_higher_limit_saves_it()
    {
        using var target = Targets.TargetProcess.Start("deleted_file"); // 1 MiB of data in a deleted file
        var images = Path.Combine(target.Directory, "images");
        Directory.CreateDirectory(images);

        var refused = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images, "--ghost-limit", "512K");
        Assert.Equal(1, refused.ExitCode);
        var line = Assert.Single(refused.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("more than the ghost file limit of 524288 bytes", line);
        Assert.Contains("--ghost-limit", line);
        Assert.False(target.HasExited, "the refused dump harmed the process");

        var dump = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images, "--ghost-limit", "2M", "-R");
        Assert.True(dump.ExitCode == 0, dump.StdErr);
        Assert.True(File.Exists(Path.Combine(images, "ghost-file-1.img")));
        Assert.Equal(2, FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images, "--ghost-limit", "lots").ExitCode);
    }

    [Restore.FerryDumpHugePagesFact]
    public void Hugetlb_mapped_memory_is_refused_with_one_line_and_the_process_runs_on()
    {
        using var target = Targets.TargetProcess.Start("hugetlb_memfd", "mapped");
        var images = Path.Combine(target.Directory, "images");
        Directory.CreateDirectory(images);

        var result = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"process {target.Pid} maps hugetlb memory at 0x", line);
        Assert.Contains("(/anon_hugepage, 2048 KiB pages)", line);
        Assert.Contains("left running untouched", line);
        Assert.False(target.HasExited, "the refused dump harmed the process");
        Assert.Equal(0, target.Stop());
        Assert.Equal("1", target.Result("content_ok"));
    }

    [RootFact]
    public void A_stopped_process_sent_another_stop_signal_is_dumped_and_stays_stopped()
    {
        using var target = DumpTarget.Start("dump_counter", passWorkDir: true);
        Ferry.Linux.LibC.kill(target.Pid, 19); // SIGSTOP
        target.WaitFor(() => target.Status().State == 'T', "the process to stop");
        Ferry.Linux.LibC.kill(target.Pid, 19); // pending while stopped: delivered at the first step of a remote syscall

        var result = target.Dump("--leave-running");

        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        target.WaitFor(() => target.Status() == ('T', 0), "the process to be stopped again, untraced");
        var atDump = Counter(target);
        Thread.Sleep(100);
        Assert.Equal(atDump, Counter(target));
        Ferry.Linux.LibC.kill(target.Pid, 18); // SIGCONT
        target.WaitFor(() => Counter(target) > atDump + 20, "the counter going on once continued");
        AssertConsecutive(target);
    }

    [RootFreezerFact]
    public void A_thread_that_cannot_stop_ends_the_freeze_after_the_timeout_and_every_thread_runs_on_untraced()
    {
        // A task in a frozen cgroup v1 freezer sleeps deaf to PTRACE_INTERRUPT (state D) until thawed: the real
        // kernel case of a task that never reaches a ptrace stop. Only the last thread is frozen, so the others are
        // stopped first and must be let go again.
        using var target = DumpTarget.Start("threads_counters", passWorkDir: true);
        var frozen = Directory.GetDirectories($"/proc/{target.Pid}/task").Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).Max();
        var cgroup = Path.Combine(RootFreezerFactAttribute.Hierarchy, $"ferry-test-{Environment.ProcessId}-{target.Pid}");
        Directory.CreateDirectory(cgroup);
        try
        {
            File.WriteAllText(Path.Combine(cgroup, "tasks"), $"{frozen}");
            File.WriteAllText(Path.Combine(cgroup, "freezer.state"), "FROZEN");
            target.WaitFor(() => File.ReadAllText(Path.Combine(cgroup, "freezer.state")).Trim() == "FROZEN", "the cgroup to freeze");

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = target.Dump("--timeout", "1", "--leave-running");
            clock.Stop();

            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
            Assert.StartsWith($"ferry dump: thread {frozen} of process {target.Pid} did not stop within 1 s (state D", line);
            Assert.Contains("left running untouched", line);
            Assert.Contains("--timeout", line);
            Assert.InRange(clock.Elapsed.TotalSeconds, 1, 8);
            Assert.False(File.Exists(target.Image($"core-{target.Pid}.img")));
            Assert.All(ThreadTracers(target.Pid), t => Assert.Equal(0, t));
            var first = target.LastCount("thread-1");
            target.WaitFor(() => Enumerable.Range(1, 8).Count(n => target.LastCount($"thread-{n}") > first + 5) >= 7, "the threads not frozen to count on");
        }
        finally
        {
            File.WriteAllText(Path.Combine(cgroup, "freezer.state"), "THAWED");
            File.WriteAllText(Path.Combine(RootFreezerFactAttribute.Hierarchy, "tasks"), $"{frozen}");
            Directory.Delete(cgroup);
        }
        // Thawed, the frozen thread goes on as if nothing happened: no ptrace stop, no tracer, no gap in any count.
        var counts = Enumerable.Range(1, 8).Select(n => target.LastCount($"thread-{n}")).ToList();
        target.WaitFor(() => Enumerable.Range(1, 8).All(n => target.LastCount($"thread-{n}") > counts[n - 1] + 5), "every thread to count on once thawed");
        Assert.All(ThreadTracers(target.Pid), t => Assert.Equal(0, t));
        for (var n = 1; n <= 8; n++) target.AssertCountsWithoutGap($"thread-{n}");
    }

    static IEnumerable<int> ThreadTracers(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Select(d => int.Parse(
            File.ReadLines(Path.Combine(d, "status")).First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal))[10..].Trim(),
            CultureInfo.InvariantCulture));

    [RootFact]
    public void Without_leave_running_the_process_is_killed_after_its_images_are_written()
    {
        using var target = DumpTarget.Start("dump_counter", passWorkDir: true);
        var result = target.Dump();
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}\n{target.DumpLog}");
        var exit = target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        Assert.Equal(9, exit.Signal);
        foreach (var image in new[] { "inventory.img", "pstree.img", $"core-{target.Pid}.img", $"mm-{target.Pid}.img", "files.img", "fdinfo-2.img", $"pagemap-{target.Pid}.img", "pages-1.img" })
            Assert.True(File.Exists(target.Image(image)), $"{image} is missing");
    }

    [RootFact]
    public void A_dump_into_the_images_of_a_larger_earlier_dump_leaves_a_pages_file_of_its_own_size()
    {
        // The pages file of an earlier dump is overwritten in place (its pages are reused), so it must end cut to size.
        using var larger = DumpTarget.Start("dump_memory", passWorkDir: false, "16");
        Assert.Equal(0, larger.Dump().ExitCode);
        using var smaller = DumpTarget.Start("dump_memory", passWorkDir: false, "4");
        var result = FerryBinary.Run(["dump", "-t", smaller.Pid.ToString(CultureInfo.InvariantCulture), "-D", larger.ImagesDir]);
        Assert.True(result.ExitCode == 0, $"ferry dump failed: {result.StdErr}");

        using var pages = Ferry.Images.PageMap.Open(larger.Image($"pagemap-{smaller.Pid}.img"));
        Assert.Equal(pages.PresentBytes, new FileInfo(larger.Image($"pages-{pages.PagesId}.img")).Length);
        var memory = smaller.Address("memory");
        var page = new byte[4096];
        for (var i = 0; i < 1024; i++)
        {
            Assert.Equal(4096, pages.Read(memory + (ulong)i * 4096, page));
            Assert.True(page.All(b => b == (byte)(i * 7 + 1)), $"page {i} of the pattern differs in the images");
        }
    }

    [RootFact]
    public void A_missing_pid_gives_one_line_and_a_non_zero_exit()
    {
        var pid = Enumerable.Range(2, 32000).Select(i => 32768 - i).First(p => !Directory.Exists($"/proc/{p}"));
        var dir = Directory.CreateTempSubdirectory("ferry-dump-missing-").FullName;
        try
        {
            var result = FerryBinary.Run("dump", "-t", pid.ToString(CultureInfo.InvariantCulture), "-D", dir);
            Assert.Equal(1, result.ExitCode);
            Assert.Equal($"ferry dump: process {pid} does not exist", result.StdErr.TrimEnd('\n'));
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [RootFact]
    public void A_process_with_a_blocked_SIGTRAP_pending_is_refused_and_keeps_it_pending_and_blocked()
    {
        // Single-stepping a remote syscall would unblock SIGTRAP and take the queued one (zdtm's sigtrap test).
        using var target = DumpTarget.StartProgram("/usr/bin/python3", "-c",
            "import os, signal, time; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTRAP}); os.kill(os.getpid(), signal.SIGTRAP); " +
            "print('ready', flush=True); time.sleep(600)");
        var result = target.Dump();
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains("SIGTRAP pending", line);
        target.WaitFor(() => target.Status() == ('S', 0), "the process asleep again without a tracer");
        var status = File.ReadAllLines($"/proc/{target.Pid}/status").ToDictionary(l => l.Split(':')[0], l => l.Split(':')[1].Trim());
        const ulong SigTrap = 1UL << 4;
        Assert.NotEqual(0UL, ulong.Parse(status["ShdPnd"], System.Globalization.NumberStyles.HexNumber) & SigTrap);
        Assert.NotEqual(0UL, ulong.Parse(status["SigBlk"], System.Globalization.NumberStyles.HexNumber) & SigTrap);
    }

    [RootFact]
    public void An_unsupported_descriptor_stops_the_dump_with_one_line_and_leaves_the_process_as_it_was()
    {
        using var target = DumpTarget.Start("dump_socket", passWorkDir: false);
        target.WaitFor(() => target.Status().State == 'S', "the program to sleep in pause()");
        var syscallBefore = File.ReadAllText($"/proc/{target.Pid}/syscall");

        var result = target.Dump();

        Assert.Equal(1, result.ExitCode);
        var lines = result.StdErr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.Contains($"process {target.Pid}", lines[0]);
        Assert.Contains("fd 3", lines[0]);
        Assert.Contains("socket", lines[0]);
        Assert.False(target.Process.HasExited);
        // Sleeping as before (after a moment running back into pause() once detached), no tracer left.
        target.WaitFor(() => target.Status() == ('S', 0), "the process asleep again without a tracer", seconds: 2);
        Assert.Equal(syscallBefore, File.ReadAllText($"/proc/{target.Pid}/syscall")); // same syscall, same registers
        Assert.False(File.Exists(target.Image($"core-{target.Pid}.img")));
    }

    [RootFact]
    public void A_tree_that_holds_ferry_itself_is_refused_with_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("ferry-dump-self-").FullName;
        try
        {
            var self = Environment.ProcessId; // ferry runs as a child of this test host
            var result = FerryBinary.Run("dump", "-t", self.ToString(CultureInfo.InvariantCulture), "-D", dir);
            Assert.Equal(1, result.ExitCode);
            Assert.Equal($"ferry dump: process {self} is an ancestor of ferry itself; ferry cannot dump a tree it is part of", result.StdErr.TrimEnd('\n'));
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static int Counter(DumpTarget target) =>
        File.ReadAllLines(Path.Combine(target.WorkDir, "counter.log")).Where(l => l.Length > 0).Select(int.Parse).LastOrDefault();

    static void AssertConsecutive(DumpTarget target)
    {
        var values = File.ReadAllLines(Path.Combine(target.WorkDir, "counter.log")).Where(l => l.Length > 0).Select(int.Parse).ToList();
        Assert.Equal(Enumerable.Range(1, values.Count), values);
    }
}
