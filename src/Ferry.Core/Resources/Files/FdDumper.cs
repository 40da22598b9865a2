using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Files;

/// <summary>
/// The descriptor table of a task (fdinfo-ID.img entries) and the file objects behind it (files.img). Each
/// descriptor is taken into Ferry with pidfd_getfd and inspected here; the task's own descriptors are not touched.
/// Descriptors that share one open file description (dup, inheritance, in this process or another of the tree) share
/// one file id, found with kcmp by the tree-wide <see cref="FileTable"/>. A kind Ferry cannot restore stops the dump
/// with one line naming the process, the descriptor and the kind.
/// </summary>
/// <param name="vpid">The process's pid as the images name it (inside its pid namespace).</param>
internal sealed class FdDumper(int pid, int vpid, FileTable files)
{
    /// <param name="table">The process's descriptors, as checked by <see cref="RefuseUnsupported"/>.</param>
    public List<fdinfo_entry> Dump(List<FdEntry> table)
    {
        var result = new List<fdinfo_entry>(table.Count);
        using var pidfd = PidFd.Open(pid);
        foreach (var fd in table)
        {
            var info = ProcFdInfo.Read(pid, fd.Fd);
            using var local = pidfd.GetFd(fd.Fd);
            var st = FileTable.Stat(local.Fd);
            var (type, id) = Describe(fd, info, local, st);
            foreach (var fileLock in FileLockDumper.Locks(pid, vpid, fd, info, local.Fd, files.SaveLocks))
                files.AddLock(id, fileLock);
            result.Add(new fdinfo_entry
            {
                Fd = (uint)fd.Fd, Id = id, Type = type,
                Flags = (info.Flags & OpenFlags.O_CLOEXEC) != 0 ? (uint)OpenFlags.FD_CLOEXEC : 0,
            });
        }
        return result;
    }

    /// <summary>Checks every descriptor's kind before anything is collected, so a refused dump fails fast.</summary>
    public static void RefuseUnsupported(int pid, List<FdEntry> table)
    {
        foreach (var fd in table)
        {
            var kind = fd.Kind switch
            {
                FdTargetKind.Socket => "a socket",
                FdTargetKind.AnonInode when AnonInodeFiles.Kind(fd.AnonName) is null && !Pidfds.PidfdDumper.IsPidfd(fd) => $"an {fd.AnonName ?? "anonymous inode"} descriptor",
                FdTargetKind.Other => $"'{fd.Target}'",
                _ => null,
            };
            if (kind is not null)
                throw new FerryException($"process {pid} has fd {fd.Fd} open on {kind}, which ferry cannot checkpoint yet; the process was left running untouched");
        }
    }

    (fd_types Type, uint Id) Describe(FdEntry fd, FdInfo info, HeldFd local, in FileStatus st)
    {
        if (fd.Kind == FdTargetKind.AnonInode && AnonInodeFiles.Kind(fd.AnonName) is { } anonType)
        {
            var (anonId, isNewAnon) = files.Description(pid, fd.Fd, st);
            if (isNewAnon)
                files.Add(AnonInodeFiles.Dump(anonType, anonId, pid, fd.Fd, info, local, info.Flags & ~(uint)OpenFlags.O_CLOEXEC));
            return (anonType, anonId);
        }
        var type = fd.Kind == FdTargetKind.Pipe ? fd_types.Pipe
            : Pidfds.PidfdDumper.IsPidfd(fd) ? fd_types.Pidfd
            : Memfd.MemfdDumper.IsMemfd(fd.Path) ? fd_types.Memfd
            : st.Type == FileStatus.S_IFIFO ? fd_types.Fifo
            : st.Type == FileStatus.S_IFCHR && Terminals.TerminalDriver.Of(st.st_rdev) is not null ? fd_types.Tty
            : st.Type is FileStatus.S_IFREG or FileStatus.S_IFDIR or FileStatus.S_IFCHR or FileStatus.S_IFBLK or FileStatus.S_IFLNK ? fd_types.Reg
            : throw new FerryException($"process {pid} has fd {fd.Fd} open on {fd.Target} (mode {Convert.ToString(st.st_mode, 8)}), which ferry cannot checkpoint yet; the process was left running untouched");

        var (id, isNew) = files.Description(pid, fd.Fd, st);
        if (!isNew) return (type, id);
        var flags = info.Flags & ~(uint)OpenFlags.O_CLOEXEC;
        switch (type)
        {
            case fd_types.Pipe:
                files.Add(new file_entry
                {
                    Type = type, Id = id,
                    Pipe = new pipe_entry { Id = id, PipeId = (uint)st.st_ino, Flags = flags, Fown = FileOwner.Read(local.Fd, flags) },
                });
                if (!files.HasPipeData((uint)st.st_ino))
                {
                    var (size, data) = PipeContents.Peek(local.Fd, flags);
                    files.AddPipeData((uint)st.st_ino, size, data);
                }
                break;
            case fd_types.Fifo:
            {
                var regId = files.NextId();
                var reg = FileTable.Regular(regId, fd.Path, flags, 0, st);
                files.Add(new file_entry { Type = fd_types.Reg, Id = regId, Reg = reg });
                if (fd.Deleted) files.AddGhost(regId, $"/proc/self/fd/{local.Fd}", st);
                files.Add(new file_entry
                {
                    Type = type, Id = id, Fifo = new fifo_entry { Id = id, PipeId = (uint)st.st_ino, RegfId = regId },
                });
                if (!files.HasFifoData((uint)st.st_ino))
                {
                    var (size, data) = PipeContents.Peek(local.Fd, flags);
                    files.AddFifoData((uint)st.st_ino, size, data);
                }
                break;
            }
            case fd_types.Pidfd:
                files.Add(new file_entry
                {
                    Type = type, Id = id,
                    Pidfd = Pidfds.PidfdDumper.Entry(pid, fd, info, id, flags, FileOwner.Read(local.Fd, flags), files.TreePids),
                });
                break;
            case fd_types.Tty:
                files.Terminals.Add(files, id, fd.Path, local, st, flags, pid);
                break;
            case fd_types.Memfd:
                files.Memfds.AddFile(files, id, fd.Path, local.Fd, st, flags, (ulong)info.Pos);
                break;
            default:
            {
                var reg = FileTable.Regular(id, fd.Path, flags, (ulong)info.Pos, st);
                reg.Fown = FileOwner.Read(local.Fd, flags);
                files.Add(new file_entry { Type = type, Id = id, Reg = reg });
                if (DeadProcessFiles.DeadProcessOf(fd.Path, fd.Deleted) is { } ended)
                    files.AddDeadProcessRemap(id, ended);
                else if (fd.Deleted && !files.TryAddLinkRemap(id, $"/proc/self/fd/{local.Fd}", fd.Path, st))
                    files.AddGhost(id, $"/proc/self/fd/{local.Fd}", st);
                break;
            }
        }
        return (type, id);
    }
}

/// <summary>A pidfd of the dumped process: lends Ferry copies of its descriptors (pidfd_getfd).</summary>
internal sealed class PidFd : IDisposable
{
    readonly int _fd;
    readonly int _pid;

    PidFd(int fd, int pid)
    {
        _fd = fd;
        _pid = pid;
    }

    public static PidFd Open(int pid)
    {
        var fd = LibC.syscall(Sys.pidfd_open, pid, 0, 0, 0, 0, 0);
        if (fd < 0) throw LinuxException.FromLastError("pidfd_open", pid);
        return new PidFd((int)fd, pid);
    }

    public HeldFd GetFd(int targetFd)
    {
        var fd = LibC.syscall(Sys.pidfd_getfd, _fd, targetFd, 0, 0, 0, 0);
        if (fd < 0) throw LinuxException.FromLastError($"pidfd_getfd of fd {targetFd}", _pid);
        return new HeldFd((int)fd);
    }

    public void Dispose() => LibC.close(_fd);
}
