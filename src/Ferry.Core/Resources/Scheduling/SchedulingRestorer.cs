using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Scheduling;

/// <summary>
/// One thread's nice value, scheduling policy (with SCHED_RESET_ON_FORK) and real-time priority, set from inside the
/// thread before its credentials are lowered (a negative nice or a real-time policy needs CAP_SYS_NICE). The nice
/// goes first: the kernel keeps it under a real-time policy too.
/// </summary>
public sealed class SchedulingRestorer(TracedTask thread, thread_core_entry? core, RemoteScratch scratch, Log log)
{
    const int PrioProcess = 0;
    const uint SchedFifo = 1, SchedRr = 2, SchedBatch = 3, SchedIdle = 5, SchedResetOnFork = 0x40000000;

    public void Restore()
    {
        if (core is null || !core.HasSchedPolicy)
            return;
        uint policy = core.SchedPolicy, prio = core.SchedPrio;
        if (!Valid(core.SchedNice, policy, prio))
            throw new FerryException($"{thread}: inconsistent scheduling in its core image (policy {policy}, nice {core.SchedNice}, priority {prio})");

        thread.SyscallOrThrow(Sys.setpriority, PrioProcess, 0, core.SchedNice);
        scratch.Write(0, (int)prio);
        thread.SyscallOrThrow(Sys.sched_setscheduler, 0, policy, scratch.At(0));
        log.Debug($"{thread}: scheduling policy {policy}, priority {prio}, nice {core.SchedNice}");
    }

    /// <summary>The combinations sched_setscheduler accepts: a priority 1..99 for real-time policies only.</summary>
    static bool Valid(int nice, uint policy, uint prio) =>
        nice is >= -20 and <= 19 && (policy & ~SchedResetOnFork) switch
        {
            SchedFifo or SchedRr => prio is > 0 and < 100,
            0 or SchedBatch or SchedIdle => prio == 0,
            _ => false,
        };
}
