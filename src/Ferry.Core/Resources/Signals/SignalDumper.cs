using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;
using Google.Protobuf;

namespace Ferry.Resources.Signals;

/// <summary>Signal state: actions (per process), blocked mask, pending queues and the alternate stack (per thread).</summary>
internal static class SignalDumper
{
    /// <summary>
    /// Every signal's action: 62 entries, signals 1..64 without SIGKILL and SIGSTOP, as CRIU writes them. Only the
    /// kernel knows handlers, flags, restorers and masks (/proc tells caught and ignored apart, but a default action
    /// may carry SA_RESTART and a mask as well), so each is asked of the task with rt_sigaction(sig, NULL, &amp;old)
    /// (<see cref="TaskState.TaskQuestions"/>).
    /// </summary>
    public static IEnumerable<sa_entry> Actions(IEnumerable<KernelSigAction> actions) =>
        actions.Select(a => new sa_entry
        {
            Sigaction = a.handler, Flags = a.flags, Restorer = a.restorer, Mask = a.mask, CompatSigaction = false,
        }).ToList();

    /// <summary>The pending signals of one queue (the thread's own, or the process-wide one) as 128-byte siginfos.</summary>
    public static signal_queue_entry Pending(TracedTask task, bool shared)
    {
        var queue = new signal_queue_entry();
        foreach (var info in task.PeekPendingSignals(shared))
            queue.Signals.Add(new siginfo_entry { Siginfo = ByteString.CopyFrom(info.ToArray()) });
        return queue;
    }

    /// <summary>The alternate stack as sigaltstack(NULL, &amp;old) in the thread told it.</summary>
    public static thread_sas_entry AltStack(StackT s) =>
        new() { SsSp = s.ss_sp, SsSize = s.ss_size, SsFlags = (uint)s.ss_flags };
}
