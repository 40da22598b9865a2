using System.Text;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Process;

/// <summary>
/// What the kernel keeps per thread and sets only from inside it: the name (comm), the parent-death signal, and the
/// addresses it uses on its own (rseq area, robust futex list, clear-child-tid).
/// </summary>
public sealed class ThreadPropertiesRestorer(TracedTask thread, core_entry core, RemoteScratch scratch, Log log)
{
    /// <summary>All in one batch of remote calls: one resume of the thread.</summary>
    public void Restore()
    {
        var calls = new List<RemoteCall>(5);
        string comm = core.ThreadCore?.Comm is { Length: > 0 } threadComm ? threadComm : core.Tc?.Comm ?? "";
        if (comm.Length > 0)
            calls.Add(new RemoteCall(Sys.prctl, Prctl.PR_SET_NAME, WriteName(scratch, comm)));
        var threadCore = core.ThreadCore;
        if (threadCore is { PdeathSig: not 0 })
            calls.Add(new RemoteCall(Sys.prctl, Prctl.PR_SET_PDEATHSIG, threadCore.PdeathSig));
        if (threadCore?.RseqEntry is { RseqAbiPointer: not 0 } rseq)
            calls.Add(new RemoteCall(Sys.rseq, (long)rseq.RseqAbiPointer, rseq.RseqAbiSize, 0, rseq.Signature));
        if (threadCore is { FutexRla: not 0 })
            calls.Add(new RemoteCall(Sys.set_robust_list, (long)threadCore.FutexRla, threadCore.FutexRlaLen));
        if (core.ThreadInfo.ClearTidAddr != 0)
            calls.Add(new RemoteCall(Sys.set_tid_address, (long)core.ThreadInfo.ClearTidAddr));
        thread.SyscallBatchOrThrow(scratch, calls);
        log.Debug($"{thread}: name '{comm}', rseq, robust list and clear-child-tid set");
    }

    /// <summary>prctl(PR_SET_NAME) in the thread, through the scratch page: the kernel keeps 15 bytes of it.</summary>
    public static void SetName(TracedTask thread, RemoteScratch scratch, string comm) =>
        thread.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_NAME, WriteName(scratch, comm));

    /// <summary>The name as PR_SET_NAME takes it (the kernel keeps 15 bytes) at the scratch's start; returns its address.</summary>
    static long WriteName(RemoteScratch scratch, string comm)
    {
        var bytes = Encoding.UTF8.GetBytes(comm);
        scratch.Write(0, [.. bytes.AsSpan(0, Math.Min(bytes.Length, 15)), 0]);
        return scratch.At(0);
    }
}
