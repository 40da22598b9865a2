using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Resources.Timers;

/// <summary>Interval timers and POSIX timers: their settings are known only inside the task, so ask it.</summary>
internal static class TimerDumper
{
    /// <param name="intervals">ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF as getitimer in the task told them.</param>
    /// <param name="scratch">Scratch memory of the task's process from <paramref name="scratchOffset"/>, for the POSIX timers.</param>
    public static task_timers_entry Dump(TracedTask task, IReadOnlyList<ITimerVal> intervals, RemoteScratch scratch, int scratchOffset)
    {
        var timers = new task_timers_entry
        {
            Real = Interval(intervals[0]),
            Virt = Interval(intervals[1]),
            Prof = Interval(intervals[2]),
        };
        foreach (var timer in ProcTimers.Read(task.Pid))
            timers.Posix.Add(Posix(task, scratch, scratchOffset, timer));
        return timers;
    }

    static itimer_entry Interval(ITimerVal v)
    {
        return new itimer_entry
        {
            Isec = (ulong)v.it_interval.tv_sec, Iusec = (ulong)v.it_interval.tv_usec,
            Vsec = (ulong)v.it_value.tv_sec, Vusec = (ulong)v.it_value.tv_usec,
        };
    }

    static posix_timer_entry Posix(TracedTask task, RemoteScratch scratch, int offset, PosixTimer timer)
    {
        task.SyscallOrThrow(Sys.timer_gettime, timer.Id, scratch.At(offset));
        var spec = scratch.Read<ITimerSpec>(offset);
        var overrun = task.SyscallOrThrow(Sys.timer_getoverrun, timer.Id);
        var entry = new posix_timer_entry
        {
            ItId = (uint)timer.Id, ClockId = (uint)timer.ClockId, SiSigno = (uint)timer.Signal,
            ItSigevNotify = (uint)NotifyValue(timer), SivalPtr = timer.SigValue, Overrun = (uint)overrun,
            Isec = (ulong)spec.it_interval.tv_sec, Insec = (ulong)spec.it_interval.tv_nsec,
            Vsec = (ulong)spec.it_value.tv_sec, Vnsec = (ulong)spec.it_value.tv_nsec,
        };
        if (timer.ThreadTarget) entry.NotifyThreadId = timer.TargetId;
        return entry;
    }

    /// <summary>sigev_notify as the kernel took it: SIGEV_SIGNAL 0, SIGEV_NONE 1, SIGEV_THREAD 2, plus SIGEV_THREAD_ID 4 for "tid.N".</summary>
    static int NotifyValue(PosixTimer timer) =>
        (timer.Notify switch { TimerNotify.None => 1, TimerNotify.Thread => 2, _ => 0 }) | (timer.ThreadTarget ? 4 : 0);
}
