using Ferry.IntegrationTests.Support;
using Ferry.IntegrationTests.Targets;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// Round trips through Ferry's own dump: a test target runs, `ferry dump` checkpoints (and kills) it, `ferry restore`
/// brings it back under the same PID, and the target's own report proves its state survived.
/// </summary>
[Collection(RestoreCollection.Name)]
public partial class FerryRoundTripTests
{
    [FerryDumpFact]
    public void Counter_continues_without_gap_or_repeat()
    {
        using var round = RoundTrip.Of("counter");
        Thread.Sleep(300);
        Assert.Equal(0, round.Stop());
        var numbers = File.ReadAllLines(round.Target.OutPath).Where(l => l.Length > 0 && char.IsDigit(l[0])).Select(long.Parse).ToList();
        Assert.True(numbers.Count > round.NumbersAtDump, $"the counter did not advance after the restore ({numbers.Count} numbers)");
        Assert.Equal(Enumerable.Range(1, numbers.Count).Select(i => (long)i), numbers);
    }

    [FerryDumpFact]
    public void The_auxiliary_vector_fits_criu_and_comes_back_whole()
    {
        using var round = RoundTrip.Of("counter");
        var mm = Ferry.Images.ImageReader.ReadFile(Path.Combine(round.ImagesDir, $"mm-{round.Pid}.img")).Entries[0].As<Ferry.Images.Protos.mm_entry>();
        Assert.True(mm.MmSavedAuxv.Count <= 44, $"{mm.MmSavedAuxv.Count} auxv words: CRIU refuses more than 44");
        var dumped = mm.MmSavedAuxv.Chunk(2).TakeWhile(p => p[0] != 0).Select(p => new Ferry.Procfs.AuxvEntry(p[0], p[1])).ToList();
        Assert.True(dumped.Count >= 20, $"only {dumped.Count} auxv entries saved");
        Assert.Equal(dumped, Ferry.Procfs.ProcAuxv.Read(round.Pid));
    }

    [FerryDumpFact]
    public void Anonymous_memory_comes_back_byte_for_byte()
    {
        using var round = RoundTrip.Of("memory_pattern", "64");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("ok"));
    }

    [FerryDumpFact]
    public void Shared_anonymous_memory_comes_back_shared_with_its_contents()
    {
        using var round = RoundTrip.Of("shared_anon");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("pattern"));
        Assert.Equal("1", round.Target.Result("shared"));
        // zdtm checks (pages_written + shpages_written) * 4096 against the size of all pages files.
        var stats = Ferry.Images.ImageReader.ReadFile(Path.Combine(round.ImagesDir, "stats-dump")).Entries[0].As<Ferry.Images.Protos.stats_entry>().Dump;
        long pagesBytes = Directory.GetFiles(round.ImagesDir, "pages-*.img").Sum(f => new FileInfo(f).Length);
        Assert.True(stats.ShpagesWritten > 0, "no shared pages counted in stats-dump");
        Assert.Equal(pagesBytes, (long)(stats.PagesWritten + stats.ShpagesWritten) * 4096);
    }

    [FerryDumpFact]
    public void Pipe_keeps_its_unread_data()
    {
        using var round = RoundTrip.Of("pipe_holder");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("ok"));
    }

    [FerryDumpFact]
    public void Deleted_open_file_comes_back_as_a_ghost_with_its_contents()
    {
        using var round = RoundTrip.Of("deleted_file");
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("ok"));
        Assert.Equal("0", round.Target.Result("nlink"));
        Assert.Empty(Directory.GetFiles(round.Target.Directory, "*.ghost"));
    }

    [FerryDumpFact]
    public void Appending_file_offset_and_flags_survive()
    {
        using var round = RoundTrip.Of("file_writer", "{dir}/data", "append");
        Thread.Sleep(100);
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("ok"));
        Assert.Equal("1", round.Target.Result("append"));
    }

    [FerryDumpFact]
    public void Signal_handler_survives_and_counts_on()
    {
        using var round = RoundTrip.Of("signal_counter");
        for (int i = 0; i < 3; i++)
        {
            Ferry.Linux.LibC.kill(round.Pid, TargetProcess.SIGUSR1);
            Thread.Sleep(20);
        }
        Assert.Equal(0, round.Stop());
        Assert.Equal("3", round.Target.Result("usr1"));
    }

    [FerryDumpFact]
    public void Interval_timer_keeps_ticking()
    {
        using var round = RoundTrip.Of("itimer");
        Thread.Sleep(300);
        Assert.Equal(0, round.Stop());
        Assert.True(int.Parse(round.Target.Result("ticks")!) > 10, "the interval timer did not tick after the restore");
        Assert.Equal("10000", round.Target.Result("interval_us"));
    }

    [FerryDumpFact]
    public void Interrupted_sleep_finishes_without_losing_time()
    {
        using var round = RoundTrip.Of("sleeper", "1000");
        Assert.Equal(0, round.WaitForExit());
        Assert.Equal("1", round.Target.Result("done"));
        Assert.True(long.Parse(round.Target.Result("slept_ms")!) >= 1000);
    }

    [FerryDumpFact]
    public void A_read_blocked_at_dump_time_completes_with_data_written_after_restore()
    {
        using var round = RoundTrip.Of("blocked_read");
        // The restored task is back inside read(): data written into its pipe now must reach it.
        File.WriteAllText($"/proc/{round.Pid}/fd/{round.Target.Ready["write_fd"]}", "after-restore");
        Assert.Equal(0, round.WaitForExit());
        Assert.Equal("1", round.Target.Result("done"));
        Assert.Equal("after-restore", round.Target.Result("read"));
        Assert.Null(round.Target.Result("interrupted"));
    }

    [FerryDumpFact]
    public void A_python3_program_keeps_its_open_files_and_offsets()
    {
        using var round = RoundTrip.Of("python_files");
        Thread.Sleep(300);
        Assert.Equal(0, round.Stop());
        Assert.Equal("1", round.Target.Result("numbers_ok"));
        Assert.Equal("1", round.Target.Result("input_ok"));
        Assert.True(int.Parse(round.Target.Result("count")!) > 10, "the program did not run on after the restore");
    }

    [FerryDumpFact]
    public void Avx512_registers_survive()
    {
        using var round = RoundTrip.Of("zmm_check");
        Thread.Sleep(100);
        Assert.Equal(0, round.Stop());
        Assert.Equal("0", round.Target.Result("corrupt") ?? round.Target.Result("skip") switch { "no-avx512" => "0", _ => null });
    }

    [FerryDumpFact]
    public void Credentials_of_an_unprivileged_process_come_back()
    {
        CriuVector.BecomeSubreaper();
        var images = Directory.CreateTempSubdirectory("ferry-creds-").FullName;
        using var child = Ferry.Tracing.ChildProcess.Start(new Ferry.Tracing.SpawnOptions("/usr/bin/setpriv",
            "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-sys_admin", "/bin/sleep", "600"));
        int pid = child.Pid;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!File.ReadAllText($"/proc/{pid}/cmdline").StartsWith("/bin/sleep"))
            {
                Assert.True(DateTime.UtcNow < deadline, "setpriv did not exec sleep");
                Thread.Sleep(5);
            }
            var before = Credentials(pid);
            var dump = FerryBinary.Run("dump", "-t", $"{pid}", "-D", images);
            Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}");
            child.WaitForExit(TimeSpan.FromSeconds(10));
            CriuVector.WaitUntilGone(pid);

            var restore = FerryBinary.Run("restore", "-D", images, "-d");
            Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}");
            Assert.Equal(before, Credentials(pid));
            Assert.Contains("65534", before);
        }
        finally
        {
            if (CriuVector.IsAlive(pid))
                Ferry.Linux.LibC.kill(pid, TargetProcess.SIGKILL);
            CriuVector.WaitUntilGone(pid);
            Directory.Delete(images, recursive: true);
        }
    }

    static string Credentials(int pid) => string.Join('\n', File.ReadLines($"/proc/{pid}/status")
        .Where(l => l.StartsWith("Uid:") || l.StartsWith("Gid:") || l.StartsWith("Groups:") || l.StartsWith("Cap") || l.StartsWith("NoNewPrivs:")));

    /// <summary>A target dumped by `ferry dump` (which kills it) and restored by `ferry restore -d`.</summary>
    sealed class RoundTrip : IDisposable
    {
        public TargetProcess Target { get; }
        public int Pid => Target.Pid;
        public int NumbersAtDump { get; }
        public string ImagesDir => _images;
        readonly string _images;

        RoundTrip(TargetProcess target, string[] dumpOptions)
        {
            Target = target;
            _images = Path.Combine(target.Directory, "images");
            Directory.CreateDirectory(_images);
            var dump = FerryBinary.Run(["dump", "-t", $"{Pid}", "-D", _images, "-v4", "-o", "dump.log", .. dumpOptions]);
            Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}");
            NumbersAtDump = File.Exists(target.OutPath) ? File.ReadAllLines(target.OutPath).Length : 0;
            target.WaitForExit(); // the dump killed it; reap it so its PID is free
            // Its children too: orphaned by the dump, they came to this subreaper.
            foreach (var process in Dump.Images.Entries<Ferry.Images.Protos.pstree_entry>(Path.Combine(_images, "pstree.img")))
                CriuVector.WaitUntilGone((int)process.Pid);
            var restore = FerryBinary.Run("restore", "-D", _images, "-d", "-v4", "-o", "restore.log");
            Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}\n{Tail(Path.Combine(_images, "restore.log"))}");
            Assert.True(CriuVector.IsAlive(Pid), $"no process {Pid} after the restore");
        }

        public static RoundTrip Of(string target, params string[] args)
        {
            CriuVector.BecomeSubreaper();
            return Of(TargetProcess.Start(target, args));
        }

        /// <summary>The round trip of a target started by the test (after <see cref="CriuVector.BecomeSubreaper"/>), which it owns from now on.</summary>
        /// <param name="dumpOptions">More options for `ferry dump` (e.g. --file-locks).</param>
        public static RoundTrip Of(TargetProcess process, params string[] dumpOptions)
        {
            try
            {
                return new RoundTrip(process, dumpOptions);
            }
            catch
            {
                // A failed dump leaves the target running: it would outlive the test (and hold what it inherited).
                process.Dispose();
                throw;
            }
        }

        /// <summary>SIGTERM to the restored process; its exit code.</summary>
        public int Stop()
        {
            Ferry.Linux.LibC.kill(Pid, TargetProcess.SIGTERM);
            return WaitForExit();
        }

        /// <summary>Waits for the restored process, which came back to this (subreaper) test process.</summary>
        public unsafe int WaitForExit()
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (true)
            {
                int status;
                if (Ferry.Linux.LibC.waitpid(Pid, &status, 1 /* WNOHANG */ | 0x40000000 /* __WALL */) == Pid)
                    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
                Assert.True(DateTime.UtcNow < deadline, $"restored pid {Pid} did not exit within 20 s");
                Thread.Sleep(5);
            }
        }

        public void Dispose()
        {
            if (CriuVector.IsAlive(Pid))
                Ferry.Linux.LibC.kill(Pid, TargetProcess.SIGKILL);
            CriuVector.WaitUntilGone(Pid);
            Target.Dispose();
        }

        static string Tail(string path) => File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(15)) : "";
    }
}

/// <summary>
/// A round-trip fact: needs root and a `ferry dump` that works. While the dump engine is not in this build, `ferry dump`
/// says "not available" and these tests skip, saying so.
/// </summary>
public class FerryDumpFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Missing = new(() =>
    {
        var probe = FerryBinary.Run("dump", "-t", "999999", "-D", "/nonexistent-ferry-dump-probe");
        return probe.StdErr.Contains("not available") ? "ferry dump is not available in this build yet (the dump engine arrives with the dump branch)" : null;
    });

    public FerryDumpFactAttribute()
    {
        if (Ferry.Linux.LibC.geteuid() != 0) Skip = Support.RootFactAttribute.Reason;
        else if (Missing.Value is { } reason) Skip = reason;
    }
}

/// <summary>A round-trip fact that also needs free 2 MiB huge pages (/proc/sys/vm/nr_hugepages) for hugetlb memory.</summary>
public sealed class FerryDumpHugePagesFactAttribute : FerryDumpFactAttribute
{
    public const int Needed = 4;

    public FerryDumpHugePagesFactAttribute()
    {
        const string free = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
        if (Skip is null && (!File.Exists(free) || int.Parse(File.ReadAllText(free).Trim()) < Needed))
            Skip = $"needs {Needed} free 2 MiB huge pages ({free}; raise /proc/sys/vm/nr_hugepages)";
    }
}
