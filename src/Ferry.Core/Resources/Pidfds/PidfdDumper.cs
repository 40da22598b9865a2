using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Procfs;

namespace Ferry.Resources.Pidfds;

/// <summary>
/// A pidfd descriptor (anon_inode:[pidfd]) as CRIU's pidfd_entry: the pid it refers to as the innermost pid namespace
/// numbers it (the last NSpid of its fdinfo), or -1 when that process is gone (reaped), and its inode, which every
/// pidfd of one process shares, so pidfds of one dead process come back referring to one dead process.
/// </summary>
internal static class PidfdDumper
{
    const uint PidfdThread = 0x80; // PIDFD_THREAD (O_EXCL)
    const uint ReadWrite = 2; // O_RDWR, which every pidfd has

    public static bool IsPidfd(FdEntry fd) => fd.Kind == FdTargetKind.AnonInode && fd.AnonName == "pidfd";

    /// <param name="flags">The description's flags without O_CLOEXEC.</param>
    /// <param name="treePids">Every process of the dumped tree (Ferry's pids): a pidfd may refer only to one of them.</param>
    public static pidfd_entry Entry(int pid, FdEntry fd, FdInfo info, uint id, uint flags, fown_entry fown, IReadOnlySet<int> treePids)
    {
        string source = $"/proc/{pid}/fdinfo/{fd.Fd}";
        if ((flags & PidfdThread) != 0)
            throw new FerryException($"process {pid} has fd {fd.Fd} open on a pidfd of a thread (PIDFD_THREAD), which ferry cannot checkpoint (nor can CRIU); the process was left running untouched");
        int target = Number(info.Get("Pid"), "Pid", source);
        int nspid = info.Get("NSpid") is { } list
            ? Number(list.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries).LastOrDefault(), "NSpid", source)
            : target;
        if (target != -1 && !treePids.Contains(target))
            throw new FerryException($"process {pid} has fd {fd.Fd} open on a pidfd of process {target}, which is not part of the dumped tree; the process was left running untouched");
        return new pidfd_entry { Id = id, Ino = (uint)info.Ino, Flags = flags & ~ReadWrite, Nspid = target == -1 ? -1 : nspid, Fown = fown };
    }

    static int Number(string? value, string key, string source) =>
        int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var number) ? number
            : throw new ProcFormatException(source, 0, $"a numeric '{key}:' line of a pidfd, found '{value ?? "nothing"}'");
}
