using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Timers;

/// <summary>
/// POSIX timers (timer_create): each comes back under its dumped id, with its clock, sigevent (signal, value,
/// notification kind and thread) and remaining time and interval. The task's code and pending signals refer to the
/// timers by id, so the id must match. The overrun count cannot be set; it lives on in the pending timer signal's
/// siginfo, which the signal restorer queues again.
/// </summary>
internal sealed class PosixTimerRestorer(TracedTask task, RemoteScratch scratch, Log log)
{
    const int SigEventOffset = 0, IdOffset = 64, SpecOffset = 128;
    const long NanosPerSecond = 1_000_000_000;

    public void Restore(IReadOnlyList<posix_timer_entry> timers)
    {
        if (timers.Count == 0)
            return;
        var ordered = timers.OrderBy(t => t.ItId).ToList();
        foreach (var timer in ordered)
            Validate(timer);
        long restoreIds = task.Syscall(Sys.prctl, Prctl.PR_TIMER_CREATE_RESTORE_IDS, Prctl.PR_TIMER_CREATE_RESTORE_IDS_ON);
        if (restoreIds < 0 && restoreIds != -Errno.EINVAL) // EINVAL: a kernel without this prctl
            throw new FerryException($"pid {task.Pid}: prctl(PR_TIMER_CREATE_RESTORE_IDS) failed: {Errno.Name((int)-restoreIds)}");
        if (restoreIds == 0)
        {
            try
            {
                foreach (var timer in ordered)
                    CreateWithId(timer);
            }
            finally
            {
                task.SyscallOrThrow(Sys.prctl, Prctl.PR_TIMER_CREATE_RESTORE_IDS, Prctl.PR_TIMER_CREATE_RESTORE_IDS_OFF);
            }
        }
        else
        {
            CreateInSequence(ordered);
        }
        // Armed only once all exist, as late as possible, so the least of their time passes before the task runs.
        foreach (var timer in ordered)
            Arm(timer);
    }

    /// <summary>With PR_TIMER_CREATE_RESTORE_IDS on, timer_create makes the timer whose id is passed in.</summary>
    void CreateWithId(posix_timer_entry timer)
    {
        scratch.Write(IdOffset, (int)timer.ItId);
        Create(timer);
        int id = scratch.Read<int>(IdOffset);
        if (id != (int)timer.ItId)
            throw new FerryException($"pid {task.Pid}: POSIX timer {timer.ItId} was created as timer {id}");
    }

    /// <summary>
    /// Kernels without PR_TIMER_CREATE_RESTORE_IDS hand out ids 0, 1, 2... in order: create timers until the wanted
    /// id comes up, deleting the fillers (as CRIU does; the husk has no timers, so the sequence starts at 0).
    /// </summary>
    void CreateInSequence(List<posix_timer_entry> ordered)
    {
        int next = 0;
        foreach (var timer in ordered)
        {
            while (true)
            {
                Create(timer);
                int id = scratch.Read<int>(IdOffset);
                if (id != next)
                    throw new FerryException($"pid {task.Pid}: the kernel gave POSIX timer id {id} where {next} was due, " +
                        $"so timer {timer.ItId} cannot get its id back");
                next++;
                if (id == (int)timer.ItId)
                    break;
                task.SyscallOrThrow(Sys.timer_delete, id);
            }
        }
    }

    void Create(posix_timer_entry timer)
    {
        scratch.Write(SigEventOffset, new SigEvent
        {
            sigev_value = timer.SivalPtr,
            sigev_signo = (int)timer.SiSigno,
            sigev_notify = (int)timer.ItSigevNotify,
            sigev_notify_thread_id = (int)timer.NotifyThreadId,
        });
        task.SyscallOrThrow(Sys.timer_create, timer.ClockId, scratch.At(SigEventOffset), scratch.At(IdOffset));
    }

    void Arm(posix_timer_entry timer)
    {
        // A periodic timer whose signal was pending reads as value 0, which would disarm it: like CRIU, run one
        // interval instead.
        bool expired = timer.Vsec == 0 && timer.Vnsec == 0;
        var spec = new ITimerSpec
        {
            it_interval = new TimeSpec { tv_sec = (long)timer.Isec, tv_nsec = (long)timer.Insec },
            it_value = expired
                ? new TimeSpec { tv_sec = (long)timer.Isec, tv_nsec = (long)timer.Insec }
                : new TimeSpec { tv_sec = (long)timer.Vsec, tv_nsec = (long)timer.Vnsec },
        };
        scratch.Write(SpecOffset, spec);
        task.SyscallOrThrow(Sys.timer_settime, timer.ItId, 0, scratch.At(SpecOffset), 0);
        log.Debug($"pid {task.Pid}: POSIX timer {timer.ItId} clock {timer.ClockId} signal {timer.SiSigno} " +
            $"value 0x{timer.SivalPtr:x}: {spec.it_value.tv_sec}.{spec.it_value.tv_nsec:D9} s, " +
            $"every {timer.Isec}.{timer.Insec:D9} s");
    }

    void Validate(posix_timer_entry timer)
    {
        if (timer.ItId > int.MaxValue || timer.Insec >= NanosPerSecond || timer.Vnsec >= NanosPerSecond
            || timer.Isec > long.MaxValue || timer.Vsec > long.MaxValue)
            throw new FerryException($"pid {task.Pid}: POSIX timer {timer.ItId} has an invalid id or time " +
                $"(value {timer.Vsec}.{timer.Vnsec:D9} s, interval {timer.Isec}.{timer.Insec:D9} s)");
    }
}
