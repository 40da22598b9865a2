using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Timers;

/// <summary>Interval timers (setitimer) and POSIX timers. Done last before the registers, so little of their time is lost.</summary>
public sealed class TimerRestorer(TracedTask task, TaskImages images, RemoteScratch scratch, Log log)
{
    public void Restore()
    {
        if (images.Leader.Tc.Timers is not { } timers)
        {
            log.Debug($"pid {task.Pid}: no timers in the image");
            return;
        }
        Set(Linux.Timers.ITIMER_REAL, timers.Real);
        Set(Linux.Timers.ITIMER_VIRTUAL, timers.Virt);
        Set(Linux.Timers.ITIMER_PROF, timers.Prof);
        new PosixTimerRestorer(task, scratch, log).Restore(timers.Posix);
    }

    void Set(int which, itimer_entry timer)
    {
        if (timer.Vsec == 0 && timer.Vusec == 0 && timer.Isec == 0 && timer.Iusec == 0)
            return; // disarmed, as in the husk
        // A periodic timer whose signal is still pending reads as value 0 (the kernel re-arms it when the signal is
        // dequeued), but setitimer with value 0 disarms it: like CRIU, arm it for one interval instead.
        if (timer.Vsec == 0 && timer.Vusec == 0)
            timer = new itimer_entry { Isec = timer.Isec, Iusec = timer.Iusec, Vsec = timer.Isec, Vusec = timer.Iusec };
        scratch.Write(0, new ITimerVal
        {
            it_interval = new TimeVal { tv_sec = (long)timer.Isec, tv_usec = (long)timer.Iusec },
            it_value = new TimeVal { tv_sec = (long)timer.Vsec, tv_usec = (long)timer.Vusec },
        });
        task.SyscallOrThrow(Sys.setitimer, which, scratch.At(0), 0);
        log.Debug($"pid {task.Pid}: itimer {which} = {timer.Vsec}.{timer.Vusec:D6} s, every {timer.Isec}.{timer.Iusec:D6} s");
    }
}
