using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;
using Google.Protobuf;

namespace Ferry.Resources.Signals;

/// <summary>Signal state: actions (per process), blocked mask, pending queues and the alternate stack (per thread).</summary>
internal static class SignalDumper
{
    /// <summary>
    /// Every signal's action: 62 entries, signals 1..64 without SIGKILL and SIGSTOP, as CRIU writes them. Handler
    /// addresses exist only in the kernel, so caught and ignored signals (SigCgt, SigIgn of /proc/PID/status) and
    /// SIGCHLD (whose SA_NOCLDWAIT matters even with the default action) are asked of the task with
    /// rt_sigaction(sig, NULL, &amp;old); the others have the default action, and a remote call each would only say so.
    /// </summary>
    public static IEnumerable<sa_entry> Actions(TracedTask task, RemoteScratch scratch, int scratchOffset, ulong caughtOrIgnored)
    {
        var actions = new List<sa_entry>(Ferry.Linux.Signals.NSIG - 2);
        var ask = caughtOrIgnored | Ferry.Linux.Signals.Bit(Ferry.Linux.Signals.SIGCHLD);
        for (var sig = 1; sig <= Ferry.Linux.Signals.NSIG; sig++)
        {
            if (sig is Ferry.Linux.Signals.SIGKILL or Ferry.Linux.Signals.SIGSTOP) continue;
            if ((ask & Ferry.Linux.Signals.Bit(sig)) == 0)
            {
                actions.Add(new sa_entry { Sigaction = 0, Flags = 0, Restorer = 0, Mask = 0, CompatSigaction = false });
                continue;
            }
            task.SyscallOrThrow(Sys.rt_sigaction, sig, 0, scratch.At(scratchOffset), Ferry.Linux.Signals.KernelSigSetSize);
            var a = scratch.Read<KernelSigAction>(scratchOffset);
            actions.Add(new sa_entry
            {
                Sigaction = a.handler, Flags = a.flags, Restorer = a.restorer, Mask = a.mask, CompatSigaction = false,
            });
        }
        return actions;
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
