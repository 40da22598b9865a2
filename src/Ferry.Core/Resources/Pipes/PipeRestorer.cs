using Ferry.Resources.Files;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Pipes;

/// <summary>
/// Recreates pipes: one pipe per dumped pipe_id, refilled with its unread bytes (pipes-data.img) and given its old
/// buffer size; each pipe file entry gets the read or the write end, with its status flags (O_NONBLOCK).
/// </summary>
public sealed unsafe class PipeRestorer(DumpSet set) : IDisposable
{
    readonly Dictionary<uint, (HeldFd Read, HeldFd Write)> _pipes = new();

    /// <summary>A new descriptor of the right end of the pipe; the caller disposes it.</summary>
    public HeldFd Open(pipe_entry pipe)
    {
        if (!_pipes.TryGetValue(pipe.PipeId, out var ends))
            _pipes[pipe.PipeId] = ends = Create(pipe.PipeId);
        var end = (pipe.Flags & 3) == OpenFlags.O_RDONLY ? ends.Read : ends.Write;
        int fd = (int)LibC.syscall(Sys.fcntl, end.Fd, OpenFlags.F_DUPFD_CLOEXEC, 0, 0, 0, 0);
        if (fd < 0) throw LinuxException.FromLastError("fcntl(F_DUPFD_CLOEXEC) of a pipe");
        // Status flags live in the shared description, so the dumped ones are set there.
        LibC.syscall(Sys.fcntl, fd, OpenFlags.F_SETFL, pipe.Flags & ~3u & ~(uint)OpenFlags.O_CLOEXEC, 0, 0, 0);
        return new HeldFd(fd);
    }

    (HeldFd, HeldFd) Create(uint pipeId)
    {
        int* fds = stackalloc int[2];
        if (LibC.pipe2(fds, OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK) < 0)
            throw LinuxException.FromLastError("pipe2");
        var read = new HeldFd(fds[0]);
        var write = new HeldFd(fds[1]);
        if (set.PipeData.TryGetValue(pipeId, out var data) && data.Length > 0)
        {
            if (LibC.syscall(Sys.fcntl, fds[1], OpenFlags.F_SETPIPE_SZ, Math.Max(data.Length, 4096), 0, 0, 0) < 0 && data.Length > 65536)
                throw new FerryException($"pipe {pipeId}: cannot grow the buffer to {data.Length} bytes for its unread data");
            fixed (byte* p = data.Span)
                if (LibC.write(fds[1], p, (nuint)data.Length) != data.Length)
                    throw new FerryException($"pipe {pipeId}: could not refill its {data.Length} unread bytes");
        }
        return (read, write);
    }

    public void Dispose()
    {
        foreach (var (read, write) in _pipes.Values)
        {
            read.Dispose();
            write.Dispose();
        }
    }
}
