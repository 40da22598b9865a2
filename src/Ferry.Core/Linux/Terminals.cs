using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>Terminal ioctl numbers (asm-generic/ioctls.h, x86-64) and device majors (linux/major.h).</summary>
public static class TtyIoctl
{
    public const uint TCGETS = 0x5401, TCSETS = 0x5402, TIOCEXCL = 0x540c, TIOCSCTTY = 0x540e, TIOCGPGRP = 0x540f,
        TIOCSPGRP = 0x5410, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, TIOCPKT = 0x5420, TIOCGSID = 0x5429,
        TIOCGLCKTRMIOS = 0x5456, TIOCSLCKTRMIOS = 0x5457, TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431,
        TIOCGPKT = 0x80045438, TIOCGPTLCK = 0x80045439, TIOCGEXCL = 0x80045440;

    public const uint TTY_MAJOR = 4, TTYAUX_MAJOR = 5, UNIX98_PTY_MASTER_MAJOR = 128, UNIX98_PTY_MAJOR_COUNT = 8,
        UNIX98_PTY_SLAVE_MAJOR = 136, USB_SERIAL_MAJOR = 188, LOW_DENSE_SERIAL_MAJOR = 204;

    /// <summary>Virtual consoles are minors MIN_NR_CONSOLES..MAX_NR_CONSOLES of TTY_MAJOR.</summary>
    public const uint MIN_NR_CONSOLES = 1, MAX_NR_CONSOLES = 63;

    /// <summary>The kernel's struct termios has 19 control characters (NCCS).</summary>
    public const int NCCS = 19;
}

/// <summary>The kernel's struct termios as TCGETS/TCSETS and the locked-termios ioctls take it (36 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KernelTermios
{
    public uint c_iflag, c_oflag, c_cflag, c_lflag;
    public byte c_line;
    public fixed byte c_cc[TtyIoctl.NCCS];
}

/// <summary>struct winsize.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct WindowSize
{
    public ushort ws_row, ws_col, ws_xpixel, ws_ypixel;
}

/// <summary>The terminal calls the dump and restore make on Ferry's own descriptors (declarations only).</summary>
internal static unsafe partial class TtyCalls
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchown(int fd, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int isatty(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcgetpgrp(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getpgrp();
}
