using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// Hands file descriptions Ferry opened over to the task being rebuilt: the task holds a pidfd of Ferry and takes
/// each one with pidfd_getfd, so it shares the very same description (offset, status flags, pipe buffer). The pidfd
/// sits above every fd number the task will get back, so installing those never collides with it. A task in another
/// pid namespace cannot name Ferry's PID: Ferry sends it the pidfd over a unix socket instead.
/// </summary>
public sealed unsafe class FdTransfer : IDisposable
{
    readonly TracedTask _task;
    readonly int _pidfd;
    bool _closed;

    public FdTransfer(TracedTask task, int firstFreeFd)
    {
        _task = task;
        long opened = task.Syscall(Sys.pidfd_open, Environment.ProcessId, 0);
        int pidfd = opened == -Errno.ESRCH ? ReceiveOwnPidfd(task) : (int)Check(task, opened, Sys.pidfd_open);
        if (pidfd < firstFreeFd)
        {
            int moved = (int)task.SyscallOrThrow(Sys.fcntl, pidfd, OpenFlags.F_DUPFD_CLOEXEC, firstFreeFd);
            task.SyscallOrThrow(Sys.close, pidfd);
            pidfd = moved;
        }
        _pidfd = pidfd;
    }

    static long Check(TracedTask task, long result, long nr) =>
        result < 0 ? throw new LinuxException($"remote {Sys.Name(nr)}", task.Tid, (int)-result) : result;

    /// <summary>
    /// The task binds a datagram socket to an abstract name (abstract names belong to the network namespace, which
    /// the task shares with Ferry), Ferry sends it a pidfd of itself as Sockets.SCM_RIGHTS, and the task receives it.
    /// </summary>
    static int ReceiveOwnPidfd(TracedTask task)
    {
        using var scratch = task.MapScratch();
        int socket = (int)task.SyscallOrThrow(Sys.socket, Sockets.AF_UNIX, Sockets.SOCK_DGRAM | OpenFlags.O_CLOEXEC, 0);
        try
        {
            // sockaddr_un: family, then the name; a leading NUL makes it abstract.
            var name = System.Text.Encoding.ASCII.GetBytes($"\0ferry-fd-{Environment.ProcessId}-{task.Tid}");
            var address = new byte[2 + name.Length];
            address[0] = Sockets.AF_UNIX;
            name.CopyTo(address, 2);
            scratch.Write(0, address);
            task.SyscallOrThrow(Sys.bind, socket, scratch.At(0), address.Length);
            SendOwnPidfd(address);

            // msghdr at 256: no name, one 1-byte iovec at 512, control buffer at 528 (one cmsghdr with one int).
            const int Header = 256, Iov = 512, Byte = 520, Control = 528, ControlSize = 24;
            scratch.Write(Iov, new IoVec { Base = (nint)scratch.At(Byte), Length = 1 });
            scratch.Write(Header, new MsgHdr { Iov = (nint)scratch.At(Iov), IovLength = 1, Control = (nint)scratch.At(Control), ControlLength = ControlSize });
            task.SyscallOrThrow(Sys.recvmsg, socket, scratch.At(Header), Sockets.MSG_CMSG_CLOEXEC);
            if (scratch.Read<int>(Control + 8) != Sockets.SOL_SOCKET || scratch.Read<int>(Control + 12) != Sockets.SCM_RIGHTS)
                throw new Ferry.Diagnostics.FerryException($"{task} did not receive Ferry's pidfd over its socket");
            return scratch.Read<int>(Control + 16);
        }
        finally
        {
            task.Syscall(Sys.close, socket);
        }
    }

    static void SendOwnPidfd(byte[] address)
    {
        int pidfd = (int)LibC.syscall(Sys.pidfd_open, Environment.ProcessId, 0, 0, 0, 0, 0);
        if (pidfd < 0) throw LinuxException.FromLastError("pidfd_open(ferry)");
        int socket = (int)LibC.syscall(Sys.socket, Sockets.AF_UNIX, Sockets.SOCK_DGRAM | OpenFlags.O_CLOEXEC, 0, 0, 0, 0);
        try
        {
            if (socket < 0) throw LinuxException.FromLastError("socket(Sockets.AF_UNIX)");
            byte payload = 0;
            byte* control = stackalloc byte[24];
            *(ulong*)control = 20; // cmsg_len: header (16) + one int
            *(int*)(control + 8) = Sockets.SOL_SOCKET;
            *(int*)(control + 12) = Sockets.SCM_RIGHTS;
            *(int*)(control + 16) = pidfd;
            var iov = new IoVec { Base = (nint)(&payload), Length = 1 };
            fixed (byte* name = address)
            {
                var header = new MsgHdr { Name = (nint)name, NameLength = address.Length, Iov = (nint)(&iov), IovLength = 1, Control = (nint)control, ControlLength = 24 };
                if (LibC.syscall(Sys.sendmsg, socket, (long)&header, 0, 0, 0, 0) < 0)
                    throw LinuxException.FromLastError("sendmsg(Sockets.SCM_RIGHTS) to the restored task");
            }
        }
        finally
        {
            LibC.close(pidfd);
            if (socket >= 0) LibC.close(socket);
        }
    }

    /// <summary>Gives the task a duplicate of Ferry's <paramref name="localFd"/> at the lowest free number (close-on-exec).</summary>
    public int Take(int localFd) => (int)_task.SyscallOrThrow(Sys.pidfd_getfd, _pidfd, localFd, 0);

    /// <summary>Gives the task Ferry's <paramref name="localFd"/> as fd <paramref name="targetFd"/>.</summary>
    public void Install(int localFd, int targetFd, bool closeOnExec)
    {
        int taken = Take(localFd);
        if (taken == targetFd)
        {
            if (!closeOnExec)
                _task.SyscallOrThrow(Sys.fcntl, taken, OpenFlags.F_SETFD, 0);
            return;
        }
        _task.SyscallOrThrow(Sys.dup3, taken, targetFd, closeOnExec ? OpenFlags.O_CLOEXEC : 0);
        _task.SyscallOrThrow(Sys.close, taken);
    }

    public void CloseRemote(int fd) => _task.SyscallOrThrow(Sys.close, fd);

    public void Dispose()
    {
        if (_closed || !_task.IsAttached) return;
        _closed = true;
        _task.SyscallOrThrow(Sys.close, _pidfd);
    }
}
