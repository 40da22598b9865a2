using Ferry.Diagnostics;
using Ferry.Linux;

namespace Ferry.Resources.Terminals;

/// <summary>The index N of a pty pair (/dev/pts/N): a master tells it (TIOCGPTN), a slave's path ends in it.</summary>
internal static class PtyIndex
{
    public static unsafe uint Of(int fd, TerminalDriver driver, string path)
    {
        uint index;
        if (driver.IsMaster)
        {
            if (TtyCalls.ioctl(fd, TtyIoctl.TIOCGPTN, &index) < 0)
                throw LinuxException.FromLastError($"ioctl(TIOCGPTN) on {path}");
        }
        else if (!uint.TryParse(path.AsSpan(path.LastIndexOf('/') + 1), out index))
            throw new FerryException($"the pty slave {path} has no index at the end of its path");
        if (index > TerminalDriver.MaxPtyIndex)
            throw new FerryException($"the pty {path} has index {index}, above the highest CRIU's images hold ({TerminalDriver.MaxPtyIndex})");
        return index;
    }
}
