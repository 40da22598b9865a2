using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// Hands file descriptions Ferry opened over to the task being rebuilt: the task holds a pidfd of Ferry and takes
/// each one with pidfd_getfd, so it shares the very same description (offset, status flags, pipe buffer). The pidfd
/// sits above every fd number the task will get back, so installing those never collides with it.
/// </summary>
public sealed class FdTransfer : IDisposable
{
    readonly TracedTask _task;
    readonly int _pidfd;
    bool _closed;

    public FdTransfer(TracedTask task, int firstFreeFd)
    {
        _task = task;
        int pidfd = (int)task.SyscallOrThrow(Sys.pidfd_open, Environment.ProcessId, 0);
        if (pidfd < firstFreeFd)
        {
            int moved = (int)task.SyscallOrThrow(Sys.fcntl, pidfd, OpenFlags.F_DUPFD_CLOEXEC, firstFreeFd);
            task.SyscallOrThrow(Sys.close, pidfd);
            pidfd = moved;
        }
        _pidfd = pidfd;
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
