using Xunit;
using System.Text;
using Ferry.Procfs;

namespace Ferry.Tests.Procfs;

public class OtherFilesTests
{
    [Fact]
    public void MountInfoOfSelfHasRootAndProc()
    {
        var mounts = ProcMountInfo.Read(Environment.ProcessId);
        Assert.Contains(mounts, m => m.MountPoint == "/");
        var proc = mounts.First(m => m.MountPoint == "/proc");
        Assert.Equal(("proc", "proc"), (proc.FsType, proc.Source));
        Assert.Equal(mounts.Count, File.ReadAllLines("/proc/self/mountinfo").Length);
    }

    [Fact]
    public void MountInfoDecodesEscapesAndOptionalFields()
    {
        const string text = "36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n" +
            "37 36 0:5 / /x rw - tmpfs none rw\n";
        var m = ProcMountInfo.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal((36, 35, 98u, 0u, "/mnt1", "/mnt 2"), (m[0].MountId, m[0].ParentId, m[0].DevMajor, m[0].DevMinor, m[0].Root, m[0].MountPoint));
        Assert.Equal(["master:1", "shared:7"], m[0].OptionalFields);
        Assert.Equal(("ext3", "/dev/root", "rw,errors=continue", "rw,noatime"), (m[0].FsType, m[0].Source, m[0].SuperOptions, m[0].MountOptions));
        Assert.Empty(m[1].OptionalFields);
    }

    [Fact]
    public void TasksAndChildren()
    {
        var tids = ProcTasks.ReadThreadIds(Environment.ProcessId);
        Assert.Equal(Environment.ProcessId, tids[0]);
        Assert.True(tids.Count > 1);
        using var sleep = new SleepProcess();
        Assert.Contains(sleep.Pid, ProcTasks.ReadAllChildren(Environment.ProcessId));
        Assert.Equal([sleep.Pid], ProcTasks.ReadThreadIds(sleep.Pid));
        Assert.Empty(ProcTasks.ReadChildren(sleep.Pid, sleep.Pid));
        Assert.Equal([12, 345], ProcTasks.ParseChildren("12 345 "u8));
    }

    [Fact]
    public void TimersParseFixedTextAndSleepHasNone()
    {
        const string text = "ID: 0\nsignal: 14/0000000000000000\nnotify: signal/pid.1234\nClockID: 1\n" +
            "ID: 1\nsignal: 34/00007ffc12345678\nnotify: thread/tid.1235\nClockID: 0\n" +
            "ID: 2\nsignal: 0/0000000000000000\nnotify: none/pid.1234\nClockID: 2\n";
        var timers = ProcTimers.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal(new PosixTimer(0, 14, 0, TimerNotify.Signal, false, 1234, 1), timers[0]);
        Assert.Equal(new PosixTimer(1, 34, 0x7ffc12345678, TimerNotify.Thread, true, 1235, 0), timers[1]);
        Assert.Equal(TimerNotify.None, timers[2].Notify);
        using var sleep = new SleepProcess();
        Assert.Empty(ProcTimers.Read(sleep.Pid));
    }

    [Fact]
    public void CmdlineEnvironCommAndSmallFilesOfSleep()
    {
        using var sleep = new SleepProcess("100", "FERRY_PROCFS_TEST");
        Assert.Equal(["sleep", "100"], ProcMisc.ReadCmdline(sleep.Pid));
        Assert.Contains("FERRY_PROCFS_TEST=ferry-test-value", ProcMisc.ReadEnviron(sleep.Pid));
        Assert.Equal("sleep", ProcMisc.ReadComm(sleep.Pid));
        Assert.Equal(0u, ProcMisc.ReadPersonality(sleep.Pid));
        Assert.Equal(File.ReadAllText("/proc/self/oom_score_adj").Trim(), ProcMisc.ReadOomScoreAdj(sleep.Pid).ToString());
        Assert.Equal(File.ReadAllText("/proc/self/loginuid").Trim(), ProcMisc.ReadLoginUid(sleep.Pid).ToString());
        Assert.Equal(["a", "", "b"], ProcMisc.SplitNul("a\0\0b\0"u8));
    }
}
