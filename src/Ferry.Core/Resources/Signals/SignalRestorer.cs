using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Signals;

/// <summary>
/// Signal state: the handlers (rt_sigaction per signal, shared by the threads of a process), each thread's alternate
/// stack, the pending signals (re-queued from inside the task, the only way the kernel accepts arbitrary siginfo), and,
/// last of all, each thread's blocked mask. <paramref name="task"/> is the thread the calls run in.
/// </summary>
public sealed class SignalRestorer(TracedTask task, RemoteScratch scratch, Log log)
{
    /// <summary>CRIU stores the actions of signals 1..64 except SIGKILL and SIGSTOP, in order.</summary>
    public static IEnumerable<int> DumpedSignals =>
        Enumerable.Range(1, Linux.Signals.NSIG).Where(s => s != Linux.Signals.SIGKILL && s != Linux.Signals.SIGSTOP);

    /// <summary>
    /// rt_sigaction for each dumped action the husk does not have already. The husk's come from its exec: each signal
    /// default, or ignored when Ferry ignores it (its runtime ignores SIGPIPE), with no flags and an empty mask; its
    /// ignored and caught signals are read from /proc/PID/status.
    /// </summary>
    public void RestoreActions(task_core_entry tc)
    {
        var actions = tc.Sigactions;
        if (actions.Count == 0)
            return;
        var husk = ProcStatusFile.Read(task.Pid);
        int set = 0;
        foreach (var (signal, action) in DumpedSignals.Zip(actions))
        {
            var bit = Linux.Signals.Bit(signal);
            var huskHandler = (husk.SigIgn & bit) != 0 ? Linux.Signals.SIG_IGN : Linux.Signals.SIG_DFL;
            if ((husk.SigCgt & bit) == 0 && action.Sigaction == huskHandler && action.Flags == 0 && action.Mask == 0)
                continue;
            if (action.CompatSigaction)
                throw new FerryException($"signal {signal} of pid {task.Pid} has a 32-bit (compat) handler; not supported");
            scratch.Write(0, new KernelSigAction { handler = action.Sigaction, flags = action.Flags, restorer = action.Restorer, mask = action.Mask });
            task.SyscallOrThrow(Sys.rt_sigaction, signal, scratch.At(0), 0, Linux.Signals.KernelSigSetSize);
            set++;
        }
        log.Debug($"pid {task.Pid}: {set} signal handlers set");
    }

    public void RestoreAltStack(thread_core_entry? thread)
    {
        if (thread?.Sas is not { } sas || (sas.SsFlags & 2 /* SS_DISABLE */) != 0)
            return;
        scratch.Write(0, new StackT { ss_sp = sas.SsSp, ss_flags = 0, ss_size = sas.SsSize });
        task.SyscallOrThrow(Sys.sigaltstack, scratch.At(0), 0);
    }

    /// <summary>
    /// Queues the dumped signals pending for the whole process again. The task has every signal blocked meanwhile, so
    /// they stay pending.
    /// </summary>
    public void RestoreSharedPending(task_core_entry tc) => Log(QueueAll(tc.SignalsS, threadId: 0), "process");

    /// <summary>Queues the dumped signals pending for this thread alone again.</summary>
    public void RestoreThreadPending(core_entry core) => Log(QueueAll(core.ThreadCore?.SignalsP, threadId: task.Tid), "thread");

    int QueueAll(signal_queue_entry? queue, int threadId)
    {
        int count = 0;
        foreach (var info in queue?.Signals ?? [])
            count += Queue(info.Siginfo.Span, threadId);
        return count;
    }

    void Log(int count, string which)
    {
        if (count > 0)
            log.Debug($"{task}: {count} pending {which} signals queued");
    }

    int Queue(ReadOnlySpan<byte> siginfo, int threadId)
    {
        if (siginfo.Length != 128)
            throw new FerryException($"core-{task.Tid}.img: a pending siginfo of {siginfo.Length} bytes; expected 128");
        int signal = BitConverter.ToInt32(siginfo);
        scratch.Write(0, siginfo);
        if (threadId == 0)
            task.SyscallOrThrow(Sys.rt_sigqueueinfo, task.Pid, signal, scratch.At(0));
        else
            task.SyscallOrThrow(Sys.rt_tgsigqueueinfo, task.Pid, threadId, signal, scratch.At(0));
        return 1;
    }

    /// <summary>The dumped blocked mask (per thread in thread_core, else the task's).</summary>
    public static ulong BlockedMask(core_entry core) =>
        core.ThreadCore is { HasBlkSigset: true } thread ? thread.BlkSigset : core.Tc?.BlkSigset ?? 0;
}
