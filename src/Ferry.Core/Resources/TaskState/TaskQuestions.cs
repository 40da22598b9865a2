using System.Runtime.InteropServices;
using Ferry.Linux;
using Ferry.Resources.Signals;
using Ferry.Tracing;

namespace Ferry.Resources.TaskState;

/// <summary>What only a thread itself can tell: its clear-child-tid address, parent-death signal, alternate stack, securebits.</summary>
internal readonly record struct ThreadAnswers(ulong ClearTid, int PdeathSig, StackT AltStack, uint Securebits);

/// <summary>
/// What only the process itself can tell, asked of its leader: child-subreaper, interval timers, signal actions,
/// membarrier registrations (negative: the kernel cannot tell), the current brk, dumpable and THP-disabled.
/// </summary>
internal sealed record ProcessAnswers(bool Subreaper, ITimerVal[] Intervals, KernelSigAction[] Actions, long Membarrier,
    ulong Brk, int Dumpable, bool ThpDisabled);

/// <summary>
/// Asks a thread everything a dump needs to inject into it in one <see cref="TracedTask.SyscallBatch"/>: one resume
/// of the thread instead of one single-step per question, which is most of a tiny process's task-state time.
/// The leader's batch asks the process-wide questions too.
/// </summary>
internal static class TaskQuestions
{
    const long MembarrierCmdGetRegistrations = 1 << 9;

    // Where each answer lands in the scratch page (the kernel writes the pointed-to results there).
    const int ClearTidAt = 0, PdeathSigAt = 8, SubreaperAt = 16, AltStackAt = 32, IntervalsAt = 64, ActionsAt = 256;

    static readonly int[] IntervalTimers = [Ferry.Linux.Timers.ITIMER_REAL, Ferry.Linux.Timers.ITIMER_VIRTUAL, Ferry.Linux.Timers.ITIMER_PROF];

    /// <summary>The leader's own answers and the process's, in one batch.</summary>
    public static (ThreadAnswers Thread, ProcessAnswers Process) AskLeader(TracedTask leader, RemoteScratch scratch)
    {
        var (thread, process) = Ask(leader, scratch, processWide: true);
        return (thread, process!);
    }

    /// <summary>Another thread's answers; <paramref name="scratch"/> is its process's (the leader's) scratch.</summary>
    public static ThreadAnswers AskThread(TracedTask thread, RemoteScratch scratch) => Ask(thread, scratch, processWide: false).Thread;

    static unsafe (ThreadAnswers Thread, ProcessAnswers? Process) Ask(TracedTask thread, RemoteScratch scratch, bool processWide)
    {
        var signals = processWide ? SignalRestorer.DumpedSignals.ToArray() : [];
        if (ActionsAt + signals.Length * sizeof(KernelSigAction) > scratch.Size)
            throw new ArgumentException($"the answers of {thread} need more than its {scratch.Size}-byte scratch", nameof(scratch));

        var calls = new List<RemoteCall>
        {
            new(Sys.prctl, Prctl.PR_GET_TID_ADDRESS, scratch.At(ClearTidAt)),
            new(Sys.prctl, Prctl.PR_GET_PDEATHSIG, scratch.At(PdeathSigAt)),
            new(Sys.sigaltstack, 0, scratch.At(AltStackAt)),
            new(Sys.prctl, Prctl.PR_GET_SECUREBITS),
        };
        const int Securebits = 3, ThreadCalls = 4, Brk = 5, Dumpable = 6, ThpDisabled = 7; // their results' indexes
        if (processWide)
        {
            calls.Add(new(Sys.prctl, Prctl.PR_GET_CHILD_SUBREAPER, scratch.At(SubreaperAt)));
            calls.Add(new(Sys.brk, 0));
            calls.Add(new(Sys.prctl, Prctl.PR_GET_DUMPABLE));
            calls.Add(new(Sys.prctl, Prctl.PR_GET_THP_DISABLE));
            for (var i = 0; i < IntervalTimers.Length; i++)
                calls.Add(new(Sys.getitimer, IntervalTimers[i], scratch.At(IntervalsAt + i * sizeof(ITimerVal))));
            for (var i = 0; i < signals.Length; i++)
                calls.Add(new(Sys.rt_sigaction, signals[i], 0, scratch.At(ActionsAt + i * sizeof(KernelSigAction)), Ferry.Linux.Signals.KernelSigSetSize));
            calls.Add(new(Sys.membarrier, MembarrierCmdGetRegistrations)); // may fail: the kernel then has no registrations to tell
        }

        var results = thread.SyscallBatch(scratch, calls);
        var mustSucceed = processWide ? calls.Count - 1 : ThreadCalls;
        for (var i = 0; i < mustSucceed; i++)
            if (results[i] is < 0 and >= -4095)
                throw new LinuxException($"remote {Sys.Name(calls[i].Nr)}", thread.Tid, (int)-results[i]);

        var answers = new ThreadAnswers(scratch.Read<ulong>(ClearTidAt), scratch.Read<int>(PdeathSigAt), scratch.Read<StackT>(AltStackAt), (uint)results[Securebits]);
        if (!processWide) return (answers, null);

        var intervals = new ITimerVal[IntervalTimers.Length];
        scratch.Read(IntervalsAt, MemoryMarshal.AsBytes(intervals.AsSpan()));
        var actions = new KernelSigAction[signals.Length];
        scratch.Read(ActionsAt, MemoryMarshal.AsBytes(actions.AsSpan()));
        var process = new ProcessAnswers(
            Subreaper: scratch.Read<int>(SubreaperAt) != 0, intervals, actions, Membarrier: results[^1],
            Brk: (ulong)results[Brk], Dumpable: (int)results[Dumpable], ThpDisabled: results[ThpDisabled] != 0);
        return (answers, process);
    }
}
