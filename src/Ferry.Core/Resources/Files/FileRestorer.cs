using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Files;

/// <summary>
/// Gives a task back its file descriptors: Ferry opens each file description once for the whole tree (path, flags,
/// offset; pipes and FIFOs with their unread data; memfds) and the task takes it at the dumped fd number with the
/// dumped close-on-exec flag and, when it had one, its owner for signal-driven I/O. fds and processes that shared a
/// description at dump time share one again.
/// </summary>
/// <param name="scratch">Scratch memory in the task, for the owner (F_SETOWN_EX) of descriptors that have one.</param>
public sealed class FileRestorer(TracedTask task, TaskImages images, DumpSet set, SharedObjects shared, FdTransfer fds, RemoteScratch scratch, Log log)
{
    public void Restore()
    {
        var epolls = new List<(int Fd, eventpoll_file_entry Entry)>();
        foreach (var fd in images.Fds.OrderBy(f => f.Fd))
        {
            var file = set.Files[fd.Id];
            var local = shared.File(fd.Id, () =>
            {
                // The task that makes an epoll adds its watches, by its own fd numbers, once it holds them all.
                if (file.Epfd is { } epoll) epolls.Add(((int)fd.Fd, epoll));
                return Open(file);
            });
            fds.Install(local.Fd, (int)fd.Fd, (fd.Flags & OpenFlags.FD_CLOEXEC) != 0);
            FileOwner.Restore(task, (int)fd.Fd, file.Reg?.Fown ?? file.Pipe?.Fown ?? file.Pidfd?.Fown ?? file.Tty?.Fown ?? AnonInodeFiles.Owner(file), scratch);
            log.Debug($"pid {task.Pid}: fd {fd.Fd} <- {Describe(file)}");
        }
        foreach (var (epfd, epoll) in epolls)
            Eventpoll.EventpollRestorer.AddWatches(task, epfd, epoll, scratch);
        shared.Memfds.ApplySeals(); // after the memory and every descriptor: seals may forbid writable maps
    }

    HeldFd Open(file_entry file) => file.Type switch
    {
        fd_types.Reg => OpenRegular(file.Reg),
        fd_types.Pipe => shared.Pipes.Open(file.Pipe),
        fd_types.Fifo => shared.Fifos.Open(file.Fifo),
        fd_types.Memfd => shared.Memfds.OpenDescriptor(file.Memfd),
        fd_types.Pidfd => shared.Pidfds.Open(file.Pidfd, task),
        fd_types.Tty => shared.Terminals.Open(file.Tty, task, scratch),
        _ when AnonInodeFiles.IsAnonKind(file.Type) => AnonInodeFiles.Open(file, new Inotify.WatchedInodes(set, shared.Ghosts)),
        _ => throw new FerryException($"file {file.Id} of pid {task.Pid} is a {file.Type}; restoring that kind is not supported yet"),
    };

    HeldFd OpenRegular(reg_file_entry reg)
    {
        var local = RegularFiles.Open(set, shared.Ghosts, reg, (int)reg.Flags, $"file {reg.Id}");
        if (reg.Pos != 0 && (reg.Flags & OpenFlags.O_PATH) == 0 && LibC.syscall(Sys.lseek, local.Fd, (long)reg.Pos, OpenFlags.SEEK_SET, 0, 0, 0) < 0)
        {
            local.Dispose();
            throw new FerryException($"cannot seek {reg.Name} to {reg.Pos}: {Errno.Name(LinuxException.FromLastError("lseek").ErrorNumber)}");
        }
        return local;
    }

    static string Describe(file_entry file) => file.Type switch
    {
        fd_types.Reg => $"{file.Reg.Name} (flags 0x{file.Reg.Flags:x}, pos {file.Reg.Pos})",
        fd_types.Pipe => $"pipe:[{file.Pipe.PipeId}] (flags 0x{file.Pipe.Flags:x})",
        fd_types.Tty => $"tty {file.Tty.TtyInfoId} (flags 0x{file.Tty.Flags:x})",
        _ => file.Type.ToString(),
    };
}
