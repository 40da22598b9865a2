using Ferry.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Linux;

/// <summary>
/// A file descriptor Ferry itself holds: a dump's copy of a task's descriptor (pidfd_getfd), or a description the
/// restore makes before handing it to a task. Dispose closes it; Fd is -1 from then on.
/// </summary>
public sealed class HeldFd : SafeHandleMinusOneIsInvalid
{
    public HeldFd(int fd) : base(ownsHandle: true) => SetHandle(fd);

    public int Fd => IsClosed ? -1 : (int)handle;

    /// <summary>open(2) with exactly these flags (plus O_CLOEXEC); failure is a one-line error naming the path and why.</summary>
    public static HeldFd Open(string path, int flags, string purpose)
    {
        int fd = LibC.open_fd(path, flags | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var error = LinuxException.FromLastError("open");
            throw new FerryException($"cannot open {path} ({purpose}): {Errno.Name(error.ErrorNumber)}; it must exist as it was at dump time");
        }
        return new HeldFd(fd);
    }

    /// <summary>A second descriptor of the same open file description (close-on-exec).</summary>
    public static HeldFd Duplicate(int fd, string what)
    {
        int copy = FileCalls.fcntl(fd, OpenFlags.F_DUPFD_CLOEXEC, 0);
        if (copy < 0) throw LinuxException.FromLastError($"fcntl(F_DUPFD_CLOEXEC) of {what}");
        return new HeldFd(copy);
    }

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}
