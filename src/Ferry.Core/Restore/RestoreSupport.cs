using Ferry.Diagnostics;
using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>Refuses, before anything is created, dumps that need a capability this version does not have yet.</summary>
public static class RestoreSupport
{
    const uint TaskAlive = 1;

    static readonly uint UnsupportedVmas = Vma.AnonShared | Vma.SysVIpc | Vma.Socket | Vma.AioRing | Vma.Memfd | Vma.ShadowStack | Vma.Uprobes;

    public static void Check(DumpSet set)
    {
        if (set.Tasks.Count > 1)
            throw new FerryException($"the dump holds {set.Tasks.Count} processes; restoring process trees is not supported yet (issue 4)");
        foreach (var task in set.Tasks)
        {
            if (task.Threads.Count > 1)
                throw new FerryException($"pid {task.Pid} has {task.Threads.Count} threads; restoring threads is not supported yet (issue 4)");
            if (task.Leader.Tc.TaskState != TaskAlive)
                throw new FerryException($"pid {task.Pid} was dumped in task state {task.Leader.Tc.TaskState}; only running (alive) tasks can be restored yet");
            if (task.Leader.ThreadCore?.SeccompMode is seccomp_mode.Filter or seccomp_mode.Strict)
                throw new FerryException($"pid {task.Pid} runs under seccomp; restoring seccomp filters is not supported yet");
            foreach (var vma in task.Mm.Vmas)
                if ((vma.Status & UnsupportedVmas) != 0)
                    throw new FerryException($"pid {task.Pid}: VMA 0x{vma.Start:x}-0x{vma.End:x} (status 0x{vma.Status:x}) is shared anonymous, SysV IPC, memfd or another kind not supported yet");
            foreach (var fd in task.Fds)
            {
                var file = set.Files[fd.Id];
                if (file.Type is not (fd_types.Reg or fd_types.Pipe))
                    throw new FerryException($"pid {task.Pid}: fd {fd.Fd} is a {file.Type}; restoring {KindName(file.Type)} is not supported yet");
                if (file.Type == fd_types.Reg && set.Remaps.TryGetValue(file.Id, out var remap) && remap.RemapType == remap_type.Procfs)
                    throw new FerryException($"pid {task.Pid}: fd {fd.Fd} is a /proc file of a dead process; not supported yet");
            }
        }
    }

    static string KindName(fd_types type) => type switch
    {
        fd_types.Unixsk => "unix sockets (sockets)",
        fd_types.Inetsk => "TCP/UDP sockets (sockets)",
        _ => $"{type} files",
    };
}
