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
    public void Restore()
    {
        string comm = core.ThreadCore?.Comm is { Length: > 0 } threadComm ? threadComm : core.Tc?.Comm ?? "";
        if (comm.Length > 0)
            SetName(thread, scratch, comm);
        var threadCore = core.ThreadCore;
        if (threadCore is { PdeathSig: not 0 })
            thread.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_PDEATHSIG, threadCore.PdeathSig);
        if (threadCore?.RseqEntry is { RseqAbiPointer: not 0 } rseq)
            thread.SyscallOrThrow(Sys.rseq, (long)rseq.RseqAbiPointer, rseq.RseqAbiSize, 0, rseq.Signature);
        if (threadCore is { FutexRla: not 0 })
            thread.SyscallOrThrow(Sys.set_robust_list, (long)threadCore.FutexRla, threadCore.FutexRlaLen);
        if (core.ThreadInfo.ClearTidAddr != 0)
            thread.SyscallOrThrow(Sys.set_tid_address, (long)core.ThreadInfo.ClearTidAddr);
        log.Debug($"{thread}: name '{comm}', rseq, robust list and clear-child-tid set");
    }

    /// <summary>prctl(PR_SET_NAME) in the thread, through the scratch page: the kernel keeps 15 bytes of it.</summary>
    public static void SetName(TracedTask thread, RemoteScratch scratch, string comm)
    {
        var bytes = Encoding.UTF8.GetBytes(comm);
        scratch.Write(0, [.. bytes.AsSpan(0, Math.Min(bytes.Length, 15)), 0]);
        thread.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_NAME, scratch.At(0));
    }
}
