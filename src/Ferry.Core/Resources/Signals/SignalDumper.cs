using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;
using Google.Protobuf;
using System.Runtime.InteropServices;

namespace Ferry.Resources.Signals;

/// <summary>Signal state: actions (per process), blocked mask, pending queues and the alternate stack (per thread).</summary>
internal static class SignalDumper
{
    /// <summary>
    /// Every signal's action: 62 entries, signals 1..64 without SIGKILL and SIGSTOP, as CRIU writes them. Only the
    /// kernel knows handlers, flags, restorers and masks (/proc tells caught and ignored apart, but a default action
    /// may carry SA_RESTART and a mask as well), so each is asked of the task with rt_sigaction(sig, NULL, &amp;old),
    /// all in one batch, into <paramref name="scratch"/> from <paramref name="scratchOffset"/> (62 * 32 bytes).
    /// </summary>
    public static unsafe IEnumerable<sa_entry> Actions(TracedTask task, RemoteScratch scratch, int scratchOffset)
    {
        var signals = SignalRestorer.DumpedSignals.ToArray();
        var calls = signals.Select((sig, i) => new RemoteCall(Sys.rt_sigaction, sig, 0,
            scratch.At(scratchOffset + i * sizeof(KernelSigAction)), Ferry.Linux.Signals.KernelSigSetSize)).ToArray();
        task.SyscallBatchOrThrow(scratch, calls);
        var actions = new KernelSigAction[signals.Length];
        scratch.Read(scratchOffset, MemoryMarshal.AsBytes(actions.AsSpan()));
        return actions.Select(a => new sa_entry
        {
            Sigaction = a.handler, Flags = a.flags, Restorer = a.restorer, Mask = a.mask, CompatSigaction = false,
        }).ToList();
    }

    /// <summary>The pending signals of one queue (the thread's own, or the process-wide one) as 128-byte siginfos.</summary>
    public static signal_queue_entry Pending(TracedTask task, bool shared)
    {
        var queue = new signal_queue_entry();
        foreach (var info in task.PeekPendingSignals(shared))
            queue.Signals.Add(new siginfo_entry { Siginfo = ByteString.CopyFrom(info.ToArray()) });
        return queue;
    }

    /// <summary>sigaltstack(NULL, &amp;old) in the thread.</summary>
    public static thread_sas_entry AltStack(TracedTask task, RemoteScratch scratch, int scratchOffset)
    {
        task.SyscallOrThrow(Sys.sigaltstack, 0, scratch.At(scratchOffset));
        var s = scratch.Read<StackT>(scratchOffset);
        return new thread_sas_entry { SsSp = s.ss_sp, SsSize = s.ss_size, SsFlags = (uint)s.ss_flags };
    }
}
