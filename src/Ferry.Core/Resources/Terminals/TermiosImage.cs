using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Terminals;

/// <summary>
/// termios and window size between the kernel's structs and CRIU's entries. CRIU reads the kernel's 36-byte termios
/// into glibc's larger struct, so its c_ispeed/c_ospeed stay 0, and copies glibc's 32 control characters byte for
/// byte into its 19 uint32 c_cc values: the characters are packed four to a value, little-endian (the kernel's 19
/// fill the first five), and the values past the eighth are whatever CRIU's buffer held (written 0 here).
/// </summary>
internal static unsafe class TermiosImage
{
    public static termios_entry Read(int fd, uint request, string path)
    {
        KernelTermios t;
        if (TtyCalls.ioctl(fd, request, &t) < 0)
            throw LinuxException.FromLastError($"ioctl(0x{request:x}) reading the termios of {path}");
        var entry = new termios_entry { CIflag = t.c_iflag, COflag = t.c_oflag, CCflag = t.c_cflag, CLflag = t.c_lflag, CLine = t.c_line, CIspeed = 0, COspeed = 0 };
        for (int word = 0; word < TtyIoctl.NCCS; word++)
        {
            uint packed = 0;
            for (int b = 3; b >= 0; b--)
                packed = (packed << 8) | (word * 4 + b < TtyIoctl.NCCS ? t.c_cc[word * 4 + b] : 0u);
            entry.CCc.Add(packed);
        }
        return entry;
    }

    public static winsize_entry ReadWindow(int fd, string path)
    {
        WindowSize w;
        if (TtyCalls.ioctl(fd, TtyIoctl.TIOCGWINSZ, &w) < 0)
            throw LinuxException.FromLastError($"ioctl(TIOCGWINSZ) on {path}");
        return new winsize_entry { WsRow = w.ws_row, WsCol = w.ws_col, WsXpixel = w.ws_xpixel, WsYpixel = w.ws_ypixel };
    }

    public static KernelTermios ToKernel(termios_entry entry)
    {
        var t = new KernelTermios { c_iflag = entry.CIflag, c_oflag = entry.COflag, c_cflag = entry.CCflag, c_lflag = entry.CLflag, c_line = (byte)entry.CLine };
        for (int i = 0; i < TtyIoctl.NCCS && i / 4 < entry.CCc.Count; i++)
            t.c_cc[i] = (byte)(entry.CCc[i / 4] >> (8 * (i % 4)));
        return t;
    }

    public static WindowSize ToKernel(winsize_entry entry) =>
        new() { ws_row = (ushort)entry.WsRow, ws_col = (ushort)entry.WsCol, ws_xpixel = (ushort)entry.WsXpixel, ws_ypixel = (ushort)entry.WsYpixel };
}
