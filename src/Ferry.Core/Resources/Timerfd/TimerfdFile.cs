using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Timerfd;

/// <summary>
/// A timerfd: its clock, the time left to its next expiry (fdinfo gives it relative also for an absolute timer), its
/// period, the timerfd_settime flags and the expirations not read yet. The restore arms a new timer with the time left
/// and puts the unread expirations back (TFD_IOC_SET_TICKS), so a reader gets them and the period goes on.
/// </summary>
internal static class TimerfdFile
{
    const int AbsoluteTime = 1; // TFD_TIMER_ABSTIME
    const ulong SetTicks = 0x40085400; // TFD_IOC_SET_TICKS = _IOW('T', 0, u64)
    const long NanosecondsPerSecond = 1_000_000_000;

    /// <param name="local">Ferry's copy of the descriptor: the timer is brought up to date through it first.</param>
    public static timerfd_entry Dump(uint id, uint flags, fown_entry owner, HeldFd local, string where)
    {
        return FromFdInfo(id, flags, owner, CurrentState(local, where), where);
    }

    internal static timerfd_entry FromFdInfo(uint id, uint flags, fown_entry owner, FdInfo info, string where)
    {
        var (vsec, vnsec) = TimeSpec(info, "it_value", where);
        var (isec, insec) = TimeSpec(info, "it_interval", where);
        return new timerfd_entry
        {
            Id = id, Flags = flags, Fown = owner,
            Clockid = (uint)Number(info, "clockid", where, NumberStyles.None),
            Ticks = Number(info, "ticks", where, NumberStyles.None),
            SettimeFlags = (uint)Octal(info, "settime flags", where),
            Vsec = vsec, Vnsec = vnsec, Isec = isec, Insec = insec,
        };
    }

    /// <summary>
    /// A periodic timer that expired and was not read since stands still (fdinfo shows no time left, one tick) until
    /// timerfd_gettime or read forwards it; gettime does that without taking the ticks, so the fdinfo read after it
    /// has the expirations so far and the time to the next. Tried again when it expired once more in between.
    /// </summary>
    static unsafe FdInfo CurrentState(HeldFd local, string where)
    {
        long* spec = stackalloc long[4];
        for (int attempt = 0; ; attempt++)
        {
            if (LibC.syscall(Sys.timerfd_gettime, local.Fd, (long)spec, 0, 0, 0, 0) < 0)
                throw Failed("read the time left of", where, "timerfd_gettime");
            var info = ProcFdInfo.Read(Environment.ProcessId, local.Fd);
            bool periodic = spec[0] != 0 || spec[1] != 0;
            if (!periodic || info.Get("it_value") != "(0, 0)" || attempt == 100) return info;
        }
    }

    public static unsafe HeldFd Open(timerfd_entry entry)
    {
        var what = $"timerfd {entry.Id} (clock {entry.Clockid})";
        var held = AnonInodeFiles.Created(LibC.syscall(Sys.timerfd_create, entry.Clockid, OpenFlags.O_CLOEXEC, 0, 0, 0, 0), what);
        AnonInodeFiles.SetStatusFlags(held, entry.Flags, what);
        // struct itimerspec: it_interval, then it_value.
        long* spec = stackalloc long[4] { (long)entry.Isec, (long)entry.Insec, (long)entry.Vsec, (long)entry.Vnsec };
        bool armed = entry.Vsec != 0 || entry.Vnsec != 0;
        if (armed && (entry.SettimeFlags & AbsoluteTime) != 0)
            AddNow(entry.Clockid, ref spec[2], ref spec[3], what);
        if (LibC.syscall(Sys.timerfd_settime, held.Fd, entry.SettimeFlags, (long)spec, 0, 0, 0) < 0)
            throw Failed("arm", what, "timerfd_settime");
        ulong ticks = entry.Ticks;
        if (ticks != 0 && LibC.ioctl(held.Fd, SetTicks, &ticks) < 0)
            throw Failed($"give back {ticks} expirations of", what, "ioctl(TFD_IOC_SET_TICKS)");
        return held;
    }

    /// <summary>An absolute timer is armed at the clock's time now plus the time it had left at dump.</summary>
    static unsafe void AddNow(uint clock, ref long seconds, ref long nanoseconds, string what)
    {
        long* now = stackalloc long[2];
        if (LibC.syscall(Sys.clock_gettime, clock, (long)now, 0, 0, 0, 0) < 0)
            throw Failed("read the clock of", what, "clock_gettime");
        seconds += now[0];
        nanoseconds += now[1];
        if (nanoseconds >= NanosecondsPerSecond)
        {
            seconds++;
            nanoseconds -= NanosecondsPerSecond;
        }
    }

    static FerryException Failed(string action, string what, string call) =>
        new($"cannot {action} {what}: {call} failed with {Errno.Name(LinuxException.FromLastError(call).ErrorNumber)}");

    static ulong Number(FdInfo info, string key, string where, NumberStyles style)
    {
        var text = AnonInodeFiles.Line(info, key, where);
        return ulong.TryParse(text, style, CultureInfo.InvariantCulture, out ulong value) ? value
            : throw AnonInodeFiles.BadLine(where, key, text, "a number");
    }

    static ulong Octal(FdInfo info, string key, string where)
    {
        var text = AnonInodeFiles.Line(info, key, where);
        ulong value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '7' || value > uint.MaxValue) throw AnonInodeFiles.BadLine(where, key, text, "an octal number");
            value = value * 8 + (ulong)(c - '0');
        }
        return text.Length > 0 ? value : throw AnonInodeFiles.BadLine(where, key, text, "an octal number");
    }

    /// <summary>"(SECONDS, NANOSECONDS)".</summary>
    static (ulong Seconds, ulong Nanoseconds) TimeSpec(FdInfo info, string key, string where)
    {
        var text = AnonInodeFiles.Line(info, key, where);
        var parts = text.Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (text.StartsWith('(') && text.EndsWith(')') && parts.Length == 2
            && ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seconds)
            && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong nanoseconds)
            && nanoseconds < NanosecondsPerSecond)
            return (seconds, nanoseconds);
        throw AnonInodeFiles.BadLine(where, key, text, "'(seconds, nanoseconds)'");
    }
}
