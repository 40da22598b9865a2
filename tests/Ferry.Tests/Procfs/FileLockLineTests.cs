using Ferry.Procfs;
using Xunit;

namespace Ferry.Tests.Procfs;

public class FileLockLineTests
{
    [Fact]
    public void ParsesTheLockLinesOfOurOwnFlockAndPosixLocks()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ferry-lock-{Guid.NewGuid():N}");
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
            file.SetLength(100);
            file.Lock(10, 5); // a POSIX write lock on bytes 10..14 (.NET uses fcntl F_SETLK)
            int fd = (int)file.SafeFileHandle.DangerousGetHandle();
            var locks = ProcFdInfo.Read(Environment.ProcessId, fd).GetAll("lock").Select(l => FileLockLine.Parse(l, "test")).ToList();
            Assert.Contains(new FileLockLine("POSIX", "WRITE", Environment.ProcessId, 10, 14), locks);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ParsesTheLockLineOfOurOwnReadLeaseWithItsState()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ferry-lease-{Guid.NewGuid():N}");
        File.WriteAllText(path, "leased");
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
            int fd = (int)file.SafeFileHandle.DangerousGetHandle();
            Assert.Equal(0, Ferry.Linux.LibC.syscall(Ferry.Linux.Sys.fcntl, fd, Ferry.Linux.OpenFlags.F_SETLEASE, 0 /* F_RDLCK */, 0, 0, 0));
            var lease = ProcFdInfo.Read(Environment.ProcessId, fd).GetAll("lock").Select(l => FileLockLine.Parse(l, "test")).Single(l => l.Kind == "LEASE"); // .NET adds a flock of its own
            Assert.Equal(("LEASE", "ACTIVE", "READ"), (lease.Kind, lease.State, lease.Type));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ParsesTheStateOfALeaseBeingBroken()
    {
        var line = FileLockLine.Parse("1: LEASE  BREAKING  UNLCK 4242 00:2a:1234 0 EOF", "x");
        Assert.Equal(("LEASE", "BREAKING", "UNLCK", 4242), (line.Kind, line.State, line.Type, line.Pid));
    }

    [Fact]
    public void ParsesEofRangesAndOfdPids()
    {
        Assert.Equal(new FileLockLine("OFDLCK", "READ", -1, 0, null), FileLockLine.Parse("2: OFDLCK ADVISORY  READ  -1 00:2a:1234 0 EOF", "x"));
        Assert.Equal(new FileLockLine("FLOCK", "WRITE", 77, 0, null), FileLockLine.Parse("1: FLOCK  ADVISORY  WRITE 77 08:01:5678 0 EOF", "x"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1: FLOCK ADVISORY WRITE 77 08:01:5678 0")]
    [InlineData("1: FLOCK ADVISORY WRITE x 08:01:5678 0 EOF")]
    [InlineData("1: POSIX ADVISORY WRITE 7 08:01:5678 0 end")]
    public void RejectsMalformedLinesNamingTheFile(string line)
    {
        var error = Assert.Throws<ProcFormatException>(() => FileLockLine.Parse(line, "/proc/1/fdinfo/3"));
        Assert.Equal("/proc/1/fdinfo/3", error.File);
    }
}
