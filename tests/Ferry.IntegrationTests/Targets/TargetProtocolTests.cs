using System.Globalization;
using Ferry.Procfs;
using Xunit;
using static Ferry.IntegrationTests.Targets.TargetProcess;

namespace Ferry.IntegrationTests.Targets;

/// <summary>Each target, with no checkpoint at all, does what its protocol promises.</summary>
public class TargetProtocolTests
{
    [Fact]
    public void CounterWritesConsecutiveNumbers()
    {
        using var t = Start("counter");
        Thread.Sleep(200);
        Assert.Equal(0, t.Stop());
        var numbers = File.ReadAllLines(t.OutPath).Select(long.Parse).ToList();
        Assert.True(numbers.Count >= 5, $"only {numbers.Count} numbers");
        Assert.Equal(Enumerable.Range(1, numbers.Count).Select(i => (long)i), numbers);
    }

    [Fact]
    public void MemoryPatternReportsAMatchingChecksum()
    {
        using var t = Start("memory_pattern");
        Assert.Equal("256", t.Ready["mib"]);
        Assert.Contains(ProcSmaps.Read(t.Pid), s => s.Map.Length >= 256UL << 20 && s.Rss >= 256UL << 20);
        t.Signal(SIGUSR2);
        Assert.Equal("1", t.WaitForResult("ok"));
        Assert.Equal(t.Result("expected"), t.Result("checksum"));
        Assert.Equal(0, t.Stop());
        Assert.Equal("1", t.Result("done"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FileWriterOffsetMatchesItsRecords(bool append)
    {
        using var t = append ? Start("file_writer", "{dir}/data", "append") : Start("file_writer", "{dir}/data");
        Thread.Sleep(150);
        Assert.Equal(0, t.Stop());
        Assert.Equal("1", t.Result("ok"));
        Assert.Equal(append ? "1" : "0", t.Result("append"));
        int records = int.Parse(t.Result("records")!);
        Assert.True(records >= 3);
        Assert.Equal(9 * records, new FileInfo(Path.Combine(t.Directory, "data")).Length);
        Assert.Equal($"{records - 1:D8}", File.ReadLines(Path.Combine(t.Directory, "data")).Last());
    }

    [Fact]
    public void PipeHolderReadsBackItsUnreadData()
    {
        using var t = Start("pipe_holder");
        var fds = ProcFds.Read(t.Pid);
        var readEnd = fds.Single(f => f.Fd == int.Parse(t.Ready["read_fd"]));
        var writeEnd = fds.Single(f => f.Fd == int.Parse(t.Ready["write_fd"]));
        Assert.Equal((FdTargetKind.Pipe, readEnd.Inode), (writeEnd.Kind, writeEnd.Inode));
        Assert.Equal(0, t.Stop());
        Assert.Equal("ferry-pipe-data-0123456789", t.Result("data"));
        Assert.Equal("1", t.Result("ok"));
    }

    [Fact]
    public void SignalCounterCountsEachSigusr1()
    {
        using var t = Start("signal_counter");
        for (int i = 0; i < 5; i++)
        {
            t.Signal(SIGUSR1);
            // Wait until it is handled (not pending), so no two deliveries merge.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while ((ProcStatusFile.Read(t.Pid).ShdPnd & (1UL << (SIGUSR1 - 1))) != 0 && DateTime.UtcNow < deadline) Thread.Sleep(1);
            Thread.Sleep(5);
        }
        t.Signal(SIGUSR2);
        Assert.Equal("5", t.WaitForResult("usr1"));
        Assert.Equal(0, t.Stop());
        Assert.Equal("1", t.Result("done"));
    }

    [Fact]
    public void ItimerKeepsTicking()
    {
        using var t = Start("itimer");
        t.Signal(SIGUSR2);
        int first = int.Parse(t.WaitForResult("ticks"));
        Thread.Sleep(200);
        Assert.Equal(0, t.Stop());
        int last = int.Parse(t.Result("ticks")!);
        Assert.True(last - first >= 5, $"ticks {first} -> {last}");
        Assert.Equal("10000", t.Result("interval_us"));
    }

    [Fact]
    public void BlockedReadCompletesWhenFed()
    {
        using var t = Start("blocked_read");
        WaitForSyscall(t.Pid, 0); // read
        File.WriteAllText($"/proc/{t.Pid}/fd/{t.Ready["write_fd"]}", "hello");
        Assert.Equal(0, t.WaitForExit());
        Assert.Equal("hello", t.Result("read"));
        Assert.Equal("1", t.Result("done"));
    }

    [Fact]
    public void SleeperReportsCompletion()
    {
        using var t = Start("sleeper", "300");
        WaitForSyscall(t.Pid, 35); // nanosleep
        Assert.Equal(0, t.WaitForExit());
        Assert.Equal("300", t.Result("requested_ms"));
        Assert.InRange(int.Parse(t.Result("slept_ms")!), 300, 5000);
        Assert.Equal("0", t.Result("eintr"));
    }

    [Fact]
    public void ZmmCheckSurvivesSignalsAndCatchesCorruption()
    {
        using (var t = Start("zmm_check"))
        {
            Assert.Null(t.Result("skip"));
            t.Signal(SIGUSR1);
            Thread.Sleep(100);
            Assert.Equal(0, t.Stop());
            Assert.Equal("0", t.Result("corrupt"));
            Assert.True(long.Parse(t.Result("iterations")!) > 0);
        }
        using (var t = Start("zmm_check"))
        {
            ulong pattern = ulong.Parse(t.Ready["pattern"][2..], NumberStyles.HexNumber);
            using (var mem = File.OpenHandle($"/proc/{t.Pid}/mem", FileMode.Open, FileAccess.ReadWrite))
            {
                var b = new byte[1];
                long at = (long)pattern + 5 * 64 + 3;
                RandomAccess.Read(mem, b, at);
                b[0] ^= 0xff;
                RandomAccess.Write(mem, b, at);
            }
            Assert.Equal(1, t.WaitForExit());
            Assert.Equal("zmm5", t.Result("reg"));
        }
    }

    [Fact]
    public void DeletedFileContentIsCheckedAndCorruptionCaught()
    {
        using (var t = Start("deleted_file"))
        {
            var fd = ProcFds.Read(t.Pid).Single(f => f.Fd == int.Parse(t.Ready["fd"]));
            Assert.True(fd.Deleted);
            Thread.Sleep(50);
            Assert.Equal(0, t.Stop());
            Assert.Equal(("1", "0", "1048576"), (t.Result("ok"), t.Result("nlink"), t.Result("size")));
        }
        using (var t = Start("deleted_file"))
        {
            using (var victim = File.OpenHandle($"/proc/{t.Pid}/fd/{t.Ready["fd"]}", FileMode.Open, FileAccess.ReadWrite))
                RandomAccess.Write(victim, new byte[] { 0x42, 0x43 }, 4096);
            Assert.Equal(1, t.WaitForExit());
            Assert.Equal("4096", t.Result("offset"));
        }
    }

    static void WaitForSyscall(int pid, int number)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.ReadAllText($"/proc/{pid}/syscall").StartsWith($"{number} "))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{pid} never blocked in syscall {number}");
            Thread.Sleep(1);
        }
    }
}
