using Ferry.Diagnostics;
using Ferry.Linux;

namespace Ferry.Restore;

/// <summary>A file descriptor Ferry itself holds while handing a description to the task; Dispose closes it.</summary>
public sealed class HeldFd(int fd) : IDisposable
{
    public int Fd { get; private set; } = fd;

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

    public void Dispose()
    {
        if (Fd < 0) return;
        LibC.close(Fd);
        Fd = -1;
    }
}
