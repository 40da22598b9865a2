using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Credentials;
using Ferry.Resources.Registers;
using Ferry.Resources.Signals;
using Ferry.Tracing;

namespace Ferry.Resources.TaskState;

/// <summary>
/// One thread's core-TID.img content that is not process-wide: registers, blocked and pending signals,
/// alternate stack, credentials, rseq, robust futex list, clear-child-tid address, scheduling, comm.
/// </summary>
internal static class ThreadDumper
{
    const uint SchedResetOnFork = 0x40000000, SchedDeadline = 6;

    /// <param name="answers">What the thread told of itself (<see cref="TaskQuestions"/>).</param>
    /// <param name="stat">Its /proc/PID/task/TID/stat (the leader's: /proc/PID/stat, the same for the fields used).</param>
    /// <param name="status">Its /proc/PID/task/TID/status (the leader's: /proc/PID/status).</param>
    public static core_entry Dump(TracedTask thread, ThreadAnswers answers, ProcStat stat, ProcStatus status, bool isLeader)
    {
        var clearTid = answers.ClearTid;
        var pdeathSig = answers.PdeathSig;
        var (robustHead, robustLength) = RobustList(thread.Tid);

        var core = new thread_core_entry
        {
            FutexRla = robustHead, FutexRlaLen = (uint)robustLength,
            SchedNice = (int)stat.Nice, SchedPolicy = SchedulingPolicy(thread.Tid),
            Sas = SignalDumper.AltStack(answers.AltStack),
            SignalsP = SignalDumper.Pending(thread, shared: false),
            Creds = CredentialsDumper.Dump(status, answers.Securebits),
            Comm = stat.Comm,
        };
        if ((core.SchedPolicy & ~SchedResetOnFork) is 1 or 2) core.SchedPrio = stat.RtPriority; // SCHED_FIFO, SCHED_RR
        if (pdeathSig != 0) core.PdeathSig = (uint)pdeathSig;
        if (!isLeader) core.BlkSigset = thread.GetSigMask();
        var rseq = thread.GetRseqConfiguration();
        if (rseq.rseq_abi_pointer != 0)
            core.RseqEntry = new rseq_entry
            {
                RseqAbiPointer = rseq.rseq_abi_pointer, RseqAbiSize = rseq.rseq_abi_size, Signature = rseq.signature,
            };

        return new core_entry
        {
            Mtype = core_entry.Types.march.X8664,
            ThreadInfo = RegisterDumper.Dump(thread, clearTid),
            ThreadCore = core,
        };
    }

    /// <summary>
    /// sched_getscheduler, unlike /proc's stat, includes SCHED_RESET_ON_FORK in the policy, as CRIU's image has it.
    /// SCHED_DEADLINE's parameters (runtime, deadline, period) have no place in the image: refused, as a restore
    /// could not bring them back.
    /// </summary>
    static uint SchedulingPolicy(int tid)
    {
        long policy = LibC.syscall(Sys.sched_getscheduler, tid, 0, 0, 0, 0, 0);
        if (policy < 0)
            throw LinuxException.FromLastError("sched_getscheduler", tid);
        if ((policy & ~SchedResetOnFork) == SchedDeadline)
            throw new FerryException($"thread {tid} runs under SCHED_DEADLINE, which ferry cannot checkpoint; the process was left running untouched");
        return (uint)policy;
    }

    /// <summary>get_robust_list works on another thread without stopping it (the dumper is its tracer).</summary>
    static unsafe (ulong Head, ulong Length) RobustList(int tid)
    {
        ulong head = 0, length = 0;
        if (LibC.syscall(Sys.get_robust_list, tid, (long)&head, (long)&length, 0, 0, 0) < 0)
            throw LinuxException.FromLastError("get_robust_list", tid);
        return (head, length);
    }
}
