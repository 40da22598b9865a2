using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Ipc;

/// <summary>
/// SysV shared memory VMAs (VMA_AREA_SYSVIPC, shmid = the segment's id), restored as CRIU's restorer does: one shmat
/// maps a whole segment, so the VMA at offset 0 of an attach attaches the segment there (read-write unless it was
/// attached read-only: fdflags O_RDONLY), and the VMAs that follow it in the same attach (split off by mprotect)
/// only get their own protection. An attach must cover its segment without holes, as CRIU requires too.
/// </summary>
public static class SysvShmAttacher
{
    /// <summary>Whether <paramref name="vma"/> is part of a SysV shared memory attach.</summary>
    public static bool IsSysv(vma_entry vma) => Vma.Is(vma, Vma.SysVIpc);

    /// <summary>Maps the VMA in the husk; the segment must exist in the task's IPC namespace already.</summary>
    public static void Map(TracedTask task, vma_entry vma, IReadOnlyDictionary<int, IpcSegment> segments)
    {
        var segment = segments[(int)vma.Shmid];
        if (vma.Pgoff == 0)
        {
            bool readOnly = vma.HasFdflags && (vma.Fdflags & 3) == OpenFlags.O_RDONLY;
            int flags = (readOnly ? SysvIpc.SHM_RDONLY : 0) | ((vma.Prot & Mman.PROT_EXEC) != 0 ? SysvIpc.SHM_EXEC : 0);
            long got = task.SyscallOrThrow(Sys.shmat, segment.Id, (long)vma.Start, flags);
            if ((ulong)got != vma.Start)
                throw new FerryException($"shmat of segment {segment.Id} in pid {task.Pid} landed at 0x{got:x} instead of 0x{vma.Start:x}");
        }
        task.SyscallOrThrow(Sys.mprotect, (long)vma.Start, (long)(vma.End - vma.Start), vma.Prot);
    }

    /// <summary>
    /// Before anything is created: every SysV VMA names a dumped segment, and each attach (a run of adjacent VMAs of
    /// one segment from offset 0) covers the segment's pages exactly.
    /// </summary>
    public static void Check(TaskImages task, IpcNamespaceImages? ipc)
    {
        ulong expected = 0, attachStart = 0;
        IpcSegment? current = null;
        foreach (var vma in task.Mm.Vmas)
        {
            bool continues = current is not null && IsSysv(vma) && (int)vma.Shmid == current.Id && vma.Pgoff == expected && vma.Start == attachStart + expected;
            if (current is not null && !continues && expected != current.MappedSize)
                throw Hole(task, current, attachStart);
            if (!IsSysv(vma))
            {
                current = null;
                continue;
            }
            if (continues)
            {
                expected += vma.End - vma.Start;
                continue;
            }
            current = ipc?.Segments.FirstOrDefault(s => s.Id == (int)vma.Shmid)
                ?? throw new FerryException($"pid {task.Pid} has SysV shared memory segment {vma.Shmid} attached at 0x{vma.Start:x}, "
                    + "but the dump holds no such segment (its IPC namespace was not dumped)");
            if (vma.Pgoff != 0)
                throw Hole(task, current, vma.Start);
            attachStart = vma.Start;
            expected = vma.End - vma.Start;
        }
        if (current is not null && expected != current.MappedSize)
            throw Hole(task, current, attachStart);
    }

    static FerryException Hole(TaskImages task, IpcSegment segment, ulong at) =>
        new($"pid {task.Pid} maps only part of SysV shared memory segment {segment.Id} at 0x{at:x} (part of the attach was unmapped), which ferry cannot restore");
}
