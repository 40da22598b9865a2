using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Terminals;

/// <summary>
/// What kind of terminal a character device is, told by its major and minor numbers as CRIU tells them: pty masters
/// (/dev/ptmx) and slaves (/dev/pts/N), /dev/console, /dev/tty (the caller's controlling terminal), virtual consoles
/// and serial ports. <see cref="InfoId"/> is the tty-info id CRIU gives it: index × 2, plus 1 for a master.
/// </summary>
internal sealed record TerminalDriver(TtyType Type, string Name, bool IsMaster, uint? FixedIndex)
{
    // CRIU's indices for the kinds that have no index of their own (even numbers above the highest pty index).
    public static readonly TerminalDriver PtyMaster = new(TtyType.Pty, "ptmx", true, null);
    public static readonly TerminalDriver PtySlave = new(TtyType.Pty, "pts", false, null);
    public static readonly TerminalDriver Console = new(TtyType.Console, "console", false, 1002);
    public static readonly TerminalDriver VirtualConsole = new(TtyType.Vt, "vt", false, 1004);
    public static readonly TerminalDriver Controlling = new(TtyType.Ctty, "ctty", false, 1006);
    public static readonly TerminalDriver Serial = new(TtyType.Serial, "serial", false, 1010);

    /// <summary>The highest pty index CRIU's images carry.</summary>
    public const uint MaxPtyIndex = 1000;

    public bool IsPty => Type == TtyType.Pty;

    public static uint InfoId(TerminalDriver driver, uint index) => (index << 1) + (driver.IsMaster ? 1u : 0u);

    /// <summary>The driver of device <paramref name="rdev"/>, or null when it is no terminal CRIU knows.</summary>
    public static TerminalDriver? Of(ulong rdev)
    {
        uint major = DeviceNumbers.Major(rdev), minor = DeviceNumbers.Minor(rdev);
        return major switch
        {
            TtyIoctl.TTYAUX_MAJOR => minor switch { 2 => PtyMaster, 1 => Console, 0 => Controlling, _ => null },
            TtyIoctl.TTY_MAJOR when minor is >= TtyIoctl.MIN_NR_CONSOLES and <= TtyIoctl.MAX_NR_CONSOLES => VirtualConsole,
            TtyIoctl.USB_SERIAL_MAJOR or TtyIoctl.LOW_DENSE_SERIAL_MAJOR => Serial,
            >= TtyIoctl.UNIX98_PTY_MASTER_MAJOR and < TtyIoctl.UNIX98_PTY_MASTER_MAJOR + TtyIoctl.UNIX98_PTY_MAJOR_COUNT => PtyMaster,
            TtyIoctl.UNIX98_PTY_SLAVE_MAJOR => PtySlave,
            _ => null,
        };
    }

    /// <summary>Whether <paramref name="rdev"/> is a terminal at all (also the ones CRIU has no driver for, like ttyS0).</summary>
    public static bool IsTerminal(ulong rdev) =>
        Of(rdev) is not null || DeviceNumbers.Major(rdev) == TtyIoctl.TTY_MAJOR
        || DeviceNumbers.Major(rdev) is >= TtyIoctl.UNIX98_PTY_SLAVE_MAJOR and < TtyIoctl.UNIX98_PTY_SLAVE_MAJOR + TtyIoctl.UNIX98_PTY_MAJOR_COUNT;
}
