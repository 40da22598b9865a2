using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Terminals;

/// <summary>
/// The session a terminal controls and its foreground group, as the process holding it would read them with
/// TIOCGSID/TIOCGPGRP (CRIU asks from inside the task): a master answers for its pair to anyone; any other end answers
/// only to a process whose controlling terminal it is, which /proc/PID/stat tells (tty_nr, session, tpgid).
/// Ids are as Ferry sees them (its own pid namespace); 0 when the terminal controls no session. Hung is a terminal
/// whose other end is gone (every ioctl fails with EIO): it has nothing more to record.
/// </summary>
internal readonly record struct TerminalSession(int Sid, int Pgrp, bool Hung)
{
    public static unsafe TerminalSession Of(int fd, TerminalDriver driver, ulong rdev, ProcStat holder)
    {
        KernelTermios termios;
        if (TtyCalls.ioctl(fd, TtyIoctl.TCGETS, &termios) < 0)
        {
            var error = LinuxException.FromLastError("ioctl(TCGETS) on a terminal");
            if (error.ErrorNumber == Errno.EIO) return new TerminalSession(0, 0, true);
            throw error;
        }
        if (driver.IsMaster)
            return new TerminalSession(Ask(fd, TtyIoctl.TIOCGSID), Ask(fd, TtyIoctl.TIOCGPGRP), false);
        bool controls = driver == TerminalDriver.Controlling ? holder.TtyNr != 0 : (ulong)(uint)holder.TtyNr == rdev;
        return controls ? new TerminalSession(holder.Session, Math.Max(holder.Tpgid, 0), false) : default;
    }

    /// <summary>A pid a master's ioctl answers; 0 when its pair controls no session (ENOTTY).</summary>
    static unsafe int Ask(int fd, uint request)
    {
        int value;
        if (TtyCalls.ioctl(fd, request, &value) == 0) return value;
        var error = LinuxException.FromLastError(request == TtyIoctl.TIOCGSID ? "ioctl(TIOCGSID)" : "ioctl(TIOCGPGRP)");
        return error.ErrorNumber == Errno.ENOTTY ? 0 : throw error;
    }
}
