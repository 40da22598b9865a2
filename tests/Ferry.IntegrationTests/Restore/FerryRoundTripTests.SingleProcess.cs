using Ferry.IntegrationTests.Support;
using Ferry.IntegrationTests.Targets;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>Round trips of single-process resources: POSIX timers, FIFOs, memfd.</summary>
public partial class FerryRoundTripTests
{
    [FerryDumpFact]
    public void Posix_timers_keep_their_ids_values_and_times_and_fire_on()
    {
        using var round = RoundTrip.Of("posix_timer");
        var timers = File.ReadAllText($"/proc/{round.Pid}/timers");
        Assert.Contains($"ID: {round.Target.Ready["tick_id"]}\n", timers);
        Assert.Contains($"ID: {round.Target.Ready["late_id"]}\n", timers);

        round.Target.Signal(TargetProcess.SIGUSR2);
        int before = int.Parse(round.Target.WaitForResult("ticks"));
        Thread.Sleep(300);
        Assert.Equal(0, round.Stop());
        Assert.True(int.Parse(round.Target.Result("ticks")!) >= before + 10, "the POSIX timer did not keep firing after the restore");
        Assert.Equal("0", round.Target.Result("bad"));
        Assert.Equal("10000000", round.Target.Result("tick_interval_ns"));
        Assert.Equal("0", round.Target.Result("late_fired"));
        int lateLeft = int.Parse(round.Target.Result("late_left_s")!);
        Assert.InRange(lateLeft, 550, 599);
    }

    [FerryDumpFact]
    public void Fifos_are_reopened_by_path_with_their_unread_data()
    {
        using var round = RoundTrip.Of("fifo_holder");
        string fifo = round.Target.Ready["fifo"];
        // Still the FIFO at that path: what is written there now comes after the unread bytes.
        using (var writer = new FileStream(File.OpenHandle(fifo, FileMode.Open, FileAccess.Write), FileAccess.Write))
            writer.Write("+after"u8);
        round.Target.Signal(TargetProcess.SIGUSR1);
        Assert.Equal("ferry-fifo-data-0123456789+after", round.Target.WaitForResult("data"));
        Assert.Equal(0, round.Stop());
        Assert.Equal("8800", round.Target.Result("read_flags"));
        Assert.Equal("8001", round.Target.Result("write_flags"));
        Assert.Equal("1", round.Target.Result("wfifo_ok"));
    }

    [FerryDumpFact]
    public void An_unnamed_O_TMPFILE_file_comes_back_with_its_contents()
    {
        using var round = RoundTrip.Of("tmpfile_holder");
        Assert.Equal(0, round.Stop());
        Assert.Equal("tmpfile-data", round.Target.Result("data"));
    }

    [FerryDumpFact]
    public void A_read_only_shared_mapping_of_a_file_opened_read_write_can_still_be_made_writable()
    {
        using var round = RoundTrip.Of("readonly_mapping");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("mprotect_ok"));
    }

    [FerryDumpFact]
    public void A_deleted_file_keeps_its_set_id_mode_and_mtime()
    {
        using var round = RoundTrip.Of("deleted_attrs");
        Assert.Equal(0, round.Stop());
        Assert.Equal("6604", round.Target.Result("mode"));
        Assert.Equal("1234567890", round.Target.Result("mtime"));
    }

    [FerryDumpFact]
    public void A_deleted_fifo_comes_back_as_one_fifo_with_its_data_and_no_name()
    {
        using var round = RoundTrip.Of("deleted_fifo");
        Assert.Equal(0, round.Stop());
        Assert.Equal("deleted-fifo-data+after", round.Target.Result("data"));
        Assert.Equal("1", round.Target.Result("gone"));
        Assert.Empty(Directory.GetFiles(round.Target.Directory, "*.ghost"));
    }

    [FerryDumpFact]
    public void Memfd_keeps_contents_offset_and_seals_and_its_shared_mapping_stays_shared_with_the_fd()
    {
        using var round = RoundTrip.Of("memfd_holder");
        Assert.True(File.Exists(Path.Combine(round.ImagesDir, "memfd.img")), "the dump wrote no memfd.img");
        // zdtm checks (pages_written + shpages_written) * 4096 against the size of all pages files.
        var stats = Ferry.Images.ImageReader.ReadFile(Path.Combine(round.ImagesDir, "stats-dump")).Entries[0].As<Ferry.Images.Protos.stats_entry>().Dump;
        long pagesBytes = Directory.GetFiles(round.ImagesDir, "pages-*.img").Sum(f => new FileInfo(f).Length);
        Assert.Equal(pagesBytes, (long)(stats.PagesWritten + stats.ShpagesWritten) * 4096);
        Assert.Contains("/memfd:ferry-memfd (deleted)", File.ReadAllText($"/proc/{round.Pid}/maps"));
        Assert.Equal(0, round.Stop());
        Assert.Equal("/memfd:ferry-memfd_(deleted)", round.Target.Result("name"));
        Assert.Equal("12388", round.Target.Result("size"));
        Assert.Equal("5000", round.Target.Result("pos"));
        Assert.Equal("2", round.Target.Result("seals")); // F_SEAL_SHRINK
        Assert.Equal("1", round.Target.Result("content_ok"));
        Assert.Equal("1", round.Target.Result("shared"));
        Assert.Equal("1", round.Target.Result("exec_ok"));
    }

    [FerryDumpFact]
    public void A_private_mapping_of_shared_anonymous_memory_still_reads_the_object_where_not_copied_on_write()
    {
        using var round = RoundTrip.Of("shmem_private_map");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("cow"));
        Assert.Equal("1", round.Target.Result("unchanged"));
        Assert.Equal("1", round.Target.Result("shared"));
        Assert.Equal("1", round.Target.Result("backed"));
    }

    [FerryDumpHugePagesFact]
    public void A_hugetlb_memfd_comes_back_on_huge_pages_of_the_same_size_with_its_contents()
    {
        using var round = RoundTrip.Of("hugetlb_memfd");
        var inode = Ferry.Images.ImageReader.ReadFile(Path.Combine(round.ImagesDir, "memfd.img")).Entries.Single().As<Ferry.Images.Protos.memfd_inode_entry>();
        Assert.Equal(4u | 21u << 26, inode.HugetlbFlag); // CRIU's value: MFD_HUGETLB | MFD_HUGE_2MB
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("hugetlb"));
        Assert.Equal("2048", round.Target.Result("page_kib"));
        Assert.Equal($"{4 << 20}", round.Target.Result("size"));
        Assert.Equal("1", round.Target.Result("content_ok"));
    }

    [FerryDumpFact]
    public void Each_description_of_a_pipe_end_keeps_its_own_flags_and_pipes_keep_their_buffer_size()
    {
        using var round = RoundTrip.Of("pipe_descriptions");
        Assert.Equal(0, round.Stop());
        Assert.Equal(["0", "1", "1", "1", "0"], new[] { "r", "r2", "w", "wdup", "w2" }.Select(k => round.Target.Result(k)));
        Assert.Equal("1048576", round.Target.Result("empty_size"));
        Assert.Equal("262144", round.Target.Result("data_size"));
        Assert.Equal("1", round.Target.Result("data_ok"));
    }

    [FerryDumpFact]
    public void A_deleted_sparse_file_comes_back_with_its_holes()
    {
        using var round = RoundTrip.Of("ghost_holes");
        long imageBytes = Directory.EnumerateFiles(round.ImagesDir, "ghost-file-*.img").Sum(f => new FileInfo(f).Length);
        Assert.InRange(imageBytes, 1, 1 << 20); // the data blocks, not a gigabyte of zeros
        Assert.Equal(0, round.Stop());
        Assert.Equal("1073741824", round.Target.Result("size"));
        Assert.Equal("1", round.Target.Result("data_ok"));
        Assert.Equal(["4096", "8192", "12288", "16384"],
            new[] { "head_data", "mid_hole", "next_data", "tail_hole" }.Select(k => round.Target.Result(k)));
        Assert.InRange(long.Parse(round.Target.Result("allocated")!), 8192, 64 << 10);
    }

    [FerryDumpFact]
    public void Locked_memory_comes_back_locked_with_its_contents_and_droppable_memory_droppable()
    {
        using var round = RoundTrip.Of("locked_memory");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("pattern"));
        Assert.True(long.Parse(round.Target.Result("locked_kb")!) >= 64, $"VmLck {round.Target.Result("locked_kb")} kB");
        Assert.Equal("1", round.Target.Result("droppable"));
    }

    [FerryDumpFact]
    public void Mappings_of_a_deleted_file_come_back_from_its_ghost()
    {
        using var round = RoundTrip.Of("deleted_mapping");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("shared_ok"));
        Assert.Equal("1", round.Target.Result("private_ok"));
        Assert.Equal("1", round.Target.Result("one_file"));
        Assert.False(File.Exists(round.Target.OutPath + ".mapped"), "the ghost was left on disk");
    }

    /// <summary>CRIU 4.2 writes shared anonymous memory as memfd inodes mapped by VMA_AREA_MEMFD areas.</summary>
    [CriuBinaryFact]
    public void Shared_anonymous_memory_dumped_by_criu_as_memfd_comes_back_shared_with_its_contents()
    {
        CriuVector.BecomeSubreaper();
        using var target = TargetProcess.Start("shared_anon");
        var images = Path.Combine(target.Directory, "criu-images");
        Directory.CreateDirectory(images);
        var dump = RunCriu("dump", "-t", $"{target.Pid}", "-D", images, "--shell-job", "-v4", "-o", "dump.log");
        Assert.True(dump.ExitCode == 0, $"criu dump failed: {dump.StdErr}\n{LogOf(Path.Combine(images, "dump.log"))}");
        Assert.True(File.Exists(Path.Combine(images, "memfd.img")), "CRIU wrote no memfd.img: it did not use VMA_AREA_MEMFD");
        target.WaitForExit();
        CriuVector.WaitUntilGone(target.Pid);
        try
        {
            var restore = FerryBinary.Run("restore", "-D", images, "-d", "-v4", "-o", "restore.log");
            Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}");
            // The memfd CRIU wrote for it is named /dev/zero: Ferry maps it as the shared anonymous memory it was.
            var maps = File.ReadAllText($"/proc/{target.Pid}/maps");
            Assert.Contains("/dev/zero (deleted)", maps);
            Assert.DoesNotContain("memfd:", maps);
            Ferry.Linux.LibC.kill(target.Pid, TargetProcess.SIGTERM);
            Assert.Equal(0, WaitForRestored(target.Pid));
            Assert.Equal("1", target.Result("pattern"));
            Assert.Equal("1", target.Result("shared"));
        }
        finally
        {
            if (CriuVector.IsAlive(target.Pid))
                Ferry.Linux.LibC.kill(target.Pid, TargetProcess.SIGKILL);
            CriuVector.WaitUntilGone(target.Pid);
        }
    }

    static string LogOf(string path) => File.Exists(path) ? File.ReadAllText(path) : "(no log)";

    /// <summary>The other direction of the drop-in: CRIU 4.2 restores what Ferry dumped, and the counter counts on.</summary>
    [CriuBinaryFact]
    public void A_counter_dumped_by_ferry_is_restored_by_criu_and_counts_on()
    {
        CriuVector.BecomeSubreaper();
        using var target = TargetProcess.Start("counter");
        var images = Path.Combine(target.Directory, "ferry-images");
        Directory.CreateDirectory(images);
        var dump = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images);
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}");
        target.WaitForExit();
        CriuVector.WaitUntilGone(target.Pid);
        int atDump = File.ReadAllLines(target.OutPath).Length;
        try
        {
            var restore = RunCriu("restore", "-D", images, "-d", "--shell-job", "-v4", "-o", "restore.log");
            Assert.True(restore.ExitCode == 0, $"criu restore failed: {restore.StdErr}\n{LogOf(Path.Combine(images, "restore.log"))}");
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (File.ReadAllLines(target.OutPath).Length <= atDump + 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "the counter restored by CRIU did not count on");
                Thread.Sleep(10);
            }
            Ferry.Linux.LibC.kill(target.Pid, TargetProcess.SIGTERM);
            Assert.Equal(0, WaitForRestored(target.Pid));
            var numbers = File.ReadAllLines(target.OutPath).Where(l => l.Length > 0 && char.IsDigit(l[0])).Select(long.Parse).ToList();
            Assert.Equal(Enumerable.Range(1, numbers.Count).Select(i => (long)i), numbers);
        }
        finally
        {
            if (CriuVector.IsAlive(target.Pid))
                Ferry.Linux.LibC.kill(target.Pid, TargetProcess.SIGKILL);
            CriuVector.WaitUntilGone(target.Pid);
        }
    }

    internal static FerryBinary.Result RunCriu(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(CriuBinaryFactAttribute.Path!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "criu did not finish in a minute");
        return new FerryBinary.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Waits for a restored process, which came back to this (subreaper) test process; its exit code.</summary>
    static unsafe int WaitForRestored(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            int status;
            if (Ferry.Linux.LibC.waitpid(pid, &status, 1 /* WNOHANG */ | 0x40000000 /* __WALL */) == pid)
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            Assert.True(DateTime.UtcNow < deadline, $"restored pid {pid} did not exit within 20 s");
            Thread.Sleep(5);
        }
    }
}

/// <summary>
/// A root fact that needs a CRIU binary recent enough for this kernel to make images (Debian's is not): opt-in by
/// setting $CRIU_BIN to one built from CRIU's sources; skipped with the reason otherwise.
/// </summary>
public sealed class CriuBinaryFactAttribute : FactAttribute
{
    public static string? Path { get; } = Environment.GetEnvironmentVariable("CRIU_BIN") is { Length: > 0 } path && File.Exists(path) ? path : null;

    public CriuBinaryFactAttribute()
    {
        if (Ferry.Linux.LibC.geteuid() != 0) Skip = RootFactAttribute.Reason;
        else if (Path is null) Skip = "no CRIU binary to make images with (set CRIU_BIN)";
    }
}
