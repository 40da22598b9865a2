using Ferry.Resources.Files;
using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Memory;

/// <summary>
/// Sets the mm's bookkeeping (code/data/brk/stack/arg/env bounds, auxv) and its exe file in one PR_SET_MM_MAP: the
/// single-field PR_SET_MM_* options need CAP_SYS_RESOURCE, this one only needs the old exe to be unmapped (it is,
/// with the rest of the husk).
/// </summary>
public sealed class MmMapRestorer(TracedTask task, TaskImages images, DumpSet set, FdTransfer fds, RemoteScratch scratch, Log log)
{
    /// <summary>A sanity bound for the scratch page; the kernel itself refuses more than its saved_auxv holds (about 50 words).</summary>
    const int MaxAuxvWords = 128;

    public void Restore()
    {
        var mm = images.Mm;
        var auxv = mm.MmSavedAuxv.ToArray();
        if (auxv.Length > MaxAuxvWords || auxv.Length % 2 != 0)
            throw new FerryException($"mm-{images.Pid}.img: saved auxv has {auxv.Length} words; expected an even count up to {MaxAuxvWords}");
        int auxvBytes = auxv.Length * 8;
        int mapOffset = (auxvBytes + 15) / 16 * 16;
        scratch.Write(0, MemoryMarshal.AsBytes(auxv.AsSpan()));

        string exe = set.Files[mm.ExeFileId].Reg.Name;
        using var local = HeldFd.Open(exe, OpenFlags.O_RDONLY, "the executable");
        int exeFd = fds.Take(local.Fd);
        try
        {
            var map = new PrctlMmMap
            {
                start_code = mm.MmStartCode, end_code = mm.MmEndCode, start_data = mm.MmStartData, end_data = mm.MmEndData,
                start_brk = mm.MmStartBrk, brk = mm.MmBrk, start_stack = mm.MmStartStack,
                arg_start = mm.MmArgStart, arg_end = mm.MmArgEnd, env_start = mm.MmEnvStart, env_end = mm.MmEnvEnd,
                auxv = auxvBytes == 0 ? 0 : scratch.Address, auxv_size = (uint)auxvBytes, exe_fd = (uint)exeFd,
            };
            scratch.Write(mapOffset, map);
            long result = task.Syscall(Sys.prctl, Prctl.PR_SET_MM, Prctl.PR_SET_MM_MAP, scratch.At(mapOffset), Marshal.SizeOf<PrctlMmMap>());
            if (result < 0)
                throw new FerryException($"PR_SET_MM_MAP for pid {task.Pid} failed: {Errno.Name((int)-result)} (exe {exe})");
        }
        finally
        {
            fds.CloseRemote(exeFd);
        }
        if (mm.HasDumpable)
            task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_DUMPABLE, mm.Dumpable);
        if (mm.ThpDisabled)
            task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_THP_DISABLE, 1);
        log.Debug($"pid {task.Pid}: PR_SET_MM_MAP done, exe {exe}");
    }
}
