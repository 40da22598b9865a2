using Xunit;
using System.Text;
using Ferry.Procfs;

namespace Ferry.Tests.Procfs;

public class StatusAndStatTests
{
    [Fact]
    public void SelfStatusMatchesThisProcess()
    {
        var s = ProcStatusFile.Read(Environment.ProcessId);
        Assert.Equal(Environment.ProcessId, s.Pid);
        Assert.Equal(Environment.ProcessId, s.Tgid);
        Assert.Equal(Environment.ProcessId, s.NSpid[^1]);
        Assert.Equal(Environment.ProcessId, s.NStgid[^1]);
        Assert.True(s.Threads > 1);
        Assert.Equal(0, s.TracerPid);
        string raw = File.ReadAllText("/proc/self/status");
        Assert.Contains($"CapEff:\t{s.CapEff:x16}", raw);
        Assert.Contains($"SigCgt:\t{s.SigCgt:x16}", raw);
        Assert.Contains($"Uid:\t{s.Uid.Real}\t{s.Uid.Effective}\t{s.Uid.Saved}\t{s.Uid.Filesystem}", raw);
        Assert.True(s.SigQueueLimit > 0);
        Assert.NotEqual(-1, s.Umask);
    }

    [Fact]
    public void SleepStatusAndStatAgree()
    {
        using var sleep = new SleepProcess();
        var status = ProcStatusFile.Read(sleep.Pid);
        var stat = ProcStatFile.Read(sleep.Pid);
        Assert.Equal("sleep", status.Name);
        Assert.Equal("sleep", stat.Comm);
        Assert.Equal('S', status.State);
        Assert.Equal('S', stat.State);
        Assert.Equal(Environment.ProcessId, status.PPid);
        Assert.Equal(Environment.ProcessId, stat.PPid);
        Assert.Equal(1, status.Threads);
        Assert.Equal(1, stat.NumThreads);
        Assert.Equal(52, stat.FieldCount);
        Assert.True(stat.StartCode < stat.EndCode);
        Assert.True(stat.ArgStart < stat.ArgEnd && stat.ArgEnd <= stat.EnvStart);
        Assert.True(stat.StartStack > stat.EndCode);
        Assert.True(stat.StartTime > 0);
        Assert.Equal(17, stat.ExitSignal);
        Assert.Equal(0UL, stat.Flags & 0x00200000); // not PF_KTHREAD
    }

    [Fact]
    public void StatCommWithParenthesesAndSpacesEndsAtLastParen()
    {
        var fields = string.Join(' ', Enumerable.Range(4, 49).Select(i => i switch
        {
            7 => "-1", 25 => "18446744073709551615", 52 => "-9", _ => i.ToString(),
        }));
        var stat = ProcStatFile.Parse(Encoding.UTF8.GetBytes($"4242 (a) (b c) d) S {fields}\n"));
        Assert.Equal(4242, stat.Pid);
        Assert.Equal("a) (b c) d", stat.Comm);
        Assert.Equal('S', stat.State);
        Assert.Equal(4, stat.PPid);
        Assert.Equal(-1, stat.TtyNr);
        Assert.Equal(ulong.MaxValue, stat.RssLimit);
        Assert.Equal(20, stat.NumThreads);
        Assert.Equal(22UL, stat.StartTime);
        Assert.Equal(-9, stat.ExitCode);
        Assert.Equal(51UL, stat.EnvEnd);
    }

    [Fact]
    public void StatWithoutClosingParenIsAFormatError()
    {
        var e = Assert.Throws<ProcFormatException>(() => ProcStatFile.Parse("1 (abc S 1 2 3"u8));
        Assert.Contains("')'", e.Message);
    }

    [Fact]
    public void StatusParsesFixedTextWithNestedNamespacesAndGroups()
    {
        const string text = "Name:\tmy\\nname\nUmask:\t0027\nState:\tt (tracing stop)\nTgid:\t7\nPid:\t8\nPPid:\t1\n" +
            "TracerPid:\t99\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t10 20 \nNStgid:\t7\t1\nNSpid:\t8\t2\n" +
            "Threads:\t3\nSigQ:\t2/100\nSigPnd:\t0000000000000001\nShdPnd:\t0000000000000002\n" +
            "SigBlk:\tfffffffe7ffbfeff\nSigIgn:\t0000000000001000\nSigCgt:\t0000000180000000\n" +
            "CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n" +
            "CapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000001\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        var s = ProcStatusFile.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal("my\nname", s.Name);
        Assert.Equal(0x17, s.Umask);
        Assert.Equal('t', s.State);
        Assert.Equal([8, 2], s.NSpid);
        Assert.Equal([7, 1], s.NStgid);
        Assert.Equal(new IdSet(1, 2, 3, 4), s.Uid);
        Assert.Equal(new IdSet(5, 6, 7, 8), s.Gid);
        Assert.Equal([10u, 20u], s.Groups);
        Assert.Equal((2L, 100L), (s.SigQueued, s.SigQueueLimit));
        Assert.Equal(0xfffffffe7ffbfeffUL, s.SigBlk);
        Assert.Equal(0x180000000UL, s.SigCgt);
        Assert.Equal(1UL, s.CapAmb);
        Assert.True(s.NoNewPrivs);
        Assert.Equal((2, 3), (s.Seccomp, s.SeccompFilters));
        Assert.Equal(99, s.TracerPid);
    }

    [Fact]
    public void LimitsOfSelfMatchTheKernelAndUnlimitedIsMaxValue()
    {
        var limits = ProcLimits.Read(Environment.ProcessId);
        Assert.Equal(16, limits.Count);
        Assert.Equal(Enumerable.Range(0, 16), limits.Select(l => l.Resource));
        var nofile = limits[7];
        Assert.Equal("Max open files", nofile.Name);
        string line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files"));
        Assert.Contains($" {nofile.Soft} ", line);
        Assert.Equal(ProcLimits.Unlimited, limits[0].Hard); // cpu time is unlimited on this machine
    }

    [Fact]
    public void LimitsParseFixedText()
    {
        const string text = "Limit                     Soft Limit           Hard Limit           Units     \n" +
            "Max cpu time              unlimited            unlimited            seconds   \n" +
            "Max nice priority         0                    0                    \n" +
            "Max open files            1024                 4096                 files     \n";
        var limits = ProcLimits.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal(new ResourceLimit(0, "Max cpu time", ulong.MaxValue, ulong.MaxValue), limits[0]);
        Assert.Equal(new ResourceLimit(13, "Max nice priority", 0, 0), limits[1]);
        Assert.Equal(new ResourceLimit(7, "Max open files", 1024, 4096), limits[2]);
        Assert.Throws<ProcFormatException>(() => ProcLimits.Parse("Limit x\nMax bogus   1 2\n"u8));
    }
}
