using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Scheduling;

/// <summary>
/// One thread's nice value, scheduling policy (with SCHED_RESET_ON_FORK) and real-time priority, set from inside the
/// thread before its credentials are lowered (a negative nice or a real-time policy needs CAP_SYS_NICE). The nice
/// goes first: the kernel keeps it under a real-time policy too. A husk thread inherits Ferry's scheduling, mostly
/// the dumped one: it is read from here (no remote call) and left alone when it is the dumped one already.
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
        if (Current(thread.Tid) == (core.SchedNice, policy, prio))
            return;

        thread.SyscallOrThrow(Sys.setpriority, PrioProcess, 0, core.SchedNice);
        scratch.Write(0, (int)prio);
        thread.SyscallOrThrow(Sys.sched_setscheduler, 0, policy, scratch.At(0));
        log.Debug($"{thread}: scheduling policy {policy}, priority {prio}, nice {core.SchedNice}");
    }

    /// <summary>
    /// The thread's nice, policy (with SCHED_RESET_ON_FORK, as sched_getscheduler reports it) and real-time priority,
    /// asked from here; null when a call fails (then the values are set anyway).
    /// </summary>
    static unsafe (int Nice, uint Policy, uint Prio)? Current(int tid)
    {
        long niceness = LibC.syscall(Sys.getpriority, PrioProcess, tid, 0, 0, 0, 0); // the raw call gives 20 - nice
        long policy = LibC.syscall(Sys.sched_getscheduler, tid, 0, 0, 0, 0, 0);
        int prio;
        if (niceness < 0 || policy < 0 || LibC.syscall(Sys.sched_getparam, tid, (long)&prio, 0, 0, 0, 0) < 0)
            return null;
        return (20 - (int)niceness, (uint)policy, (uint)prio);
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
