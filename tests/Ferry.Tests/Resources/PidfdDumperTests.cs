using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Pidfds;
using Xunit;

namespace Ferry.Tests.Resources;

public class PidfdDumperTests
{
    static readonly fown_entry NoOwner = new() { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 };

    [Fact]
    public void A_pidfd_of_ourselves_is_saved_with_our_pid_and_its_inode()
    {
        using var pidfd = OpenPidfd(Environment.ProcessId);
        var fd = ProcFds.Read(Environment.ProcessId).Single(f => f.Fd == pidfd.Fd);
        Assert.True(PidfdDumper.IsPidfd(fd));
        var info = ProcFdInfo.Read(Environment.ProcessId, pidfd.Fd);
        var entry = PidfdDumper.Entry(Environment.ProcessId, fd, info, 7, 0, NoOwner, new HashSet<int> { Environment.ProcessId });
        Assert.Equal((7u, Environment.ProcessId, (uint)info.Ino), (entry.Id, entry.Nspid, entry.Ino));
    }

    [Fact]
    public void A_pidfd_of_a_process_outside_the_tree_is_refused_naming_it()
    {
        using var pidfd = OpenPidfd(Environment.ProcessId);
        var fd = ProcFds.Read(Environment.ProcessId).Single(f => f.Fd == pidfd.Fd);
        var info = ProcFdInfo.Read(Environment.ProcessId, pidfd.Fd);
        var error = Assert.Throws<FerryException>(() => PidfdDumper.Entry(1, fd, info, 7, 0, NoOwner, new HashSet<int> { 1 }));
        Assert.Contains($"pidfd of process {Environment.ProcessId}, which is not part of the dumped tree", error.Message);
    }

    [Fact]
    public void A_pidfd_whose_fdinfo_has_no_numeric_pid_is_a_format_error_naming_the_file()
    {
        using var pidfd = OpenPidfd(Environment.ProcessId);
        var fd = ProcFds.Read(Environment.ProcessId).Single(f => f.Fd == pidfd.Fd);
        var info = ProcFdInfo.Parse("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1234\nPid:\tx\n"u8);
        var error = Assert.Throws<ProcFormatException>(() => PidfdDumper.Entry(1, fd, info, 7, 0, NoOwner, new HashSet<int>()));
        Assert.Contains("'Pid:'", error.Message);
    }

    static HeldFd OpenPidfd(int pid)
    {
        long fd = LibC.syscall(Sys.pidfd_open, pid, 0, 0, 0, 0, 0);
        Assert.True(fd >= 0, "pidfd_open failed");
        return new HeldFd((int)fd);
    }
}
