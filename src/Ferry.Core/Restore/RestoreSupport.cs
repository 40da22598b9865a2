using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>Refuses, before anything is created, dumps that need a capability this version does not have yet.</summary>
public static class RestoreSupport
{
    static readonly uint UnsupportedVmas = Vma.Socket | Vma.AioRing | Vma.ShadowStack | Vma.Uprobes;

    /// <summary>Throws one line naming every missing capability, each with the first place it is needed.</summary>
    public static void Check(DumpSet set)
    {
        var missing = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Need(string capability, string where) => missing.TryAdd(capability, where);

        foreach (var task in set.Tasks)
        {
            if (task.Leader.Tc.TaskState is not (TaskStates.Alive or TaskStates.Stopped))
                Need($"tasks in state {task.Leader.Tc.TaskState}", $"pid {task.Pid}");
            if (task.Leader.ThreadCore?.SeccompMode is seccomp_mode.Filter or seccomp_mode.Strict)
                Need("seccomp", $"pid {task.Pid} runs under seccomp");
            foreach (var vma in task.Mm.Vmas)
                if ((vma.Status & UnsupportedVmas) != 0)
                    Need("sockets, AIO rings and other special memory", $"VMA 0x{vma.Start:x}-0x{vma.End:x} of pid {task.Pid}");
            Resources.Ipc.SysvShmAttacher.Check(task, set.IpcNamespace);
            foreach (var fd in task.Fds)
            {
                var file = set.Files[fd.Id];
                if (file.Type is fd_types.Unixsk or fd_types.Inetsk or fd_types.Packetsk or fd_types.Netlinksk)
                    Need("sockets", $"fd {fd.Fd} of pid {task.Pid} is {file.Type}");
                else if (file.Type is not (fd_types.Reg or fd_types.Pipe or fd_types.Fifo or fd_types.Memfd or fd_types.Pidfd or fd_types.Tty) && !Resources.Files.AnonInodeFiles.IsAnonKind(file.Type))
                    Need($"{file.Type} files", $"fd {fd.Fd} of pid {task.Pid}");
            }
        }
        if (missing.Count > 0)
            throw new FerryException("this dump needs what this version cannot restore yet: " +
                string.Join("; ", missing.Select(m => $"{m.Key} ({m.Value})")));
    }
}
