using Ferry.Resources.Files;
using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Pipes;

/// <summary>
/// Recreates pipes: one pipe per dumped pipe_id, given its old buffer size and refilled with its unread bytes
/// (pipes-data.img); each pipe file entry gets its own description of the read or the write end (as a reopen
/// through /proc would), with its status flags (O_NONBLOCK), so descriptions that differed at dump time differ again.
/// </summary>
public sealed unsafe class PipeRestorer(DumpSet set) : IDisposable
{
    readonly Dictionary<uint, (HeldFd Read, HeldFd Write)> _pipes = new();
    Dictionary<uint, uint>? _sizes;

    /// <summary>A new description of the right end of the pipe; the caller disposes it.</summary>
    public HeldFd Open(pipe_entry pipe)
    {
        if (!_pipes.TryGetValue(pipe.PipeId, out var ends))
            _pipes[pipe.PipeId] = ends = Create(pipe.PipeId);
        bool reading = (pipe.Flags & 3) == OpenFlags.O_RDONLY;
        var end = reading ? ends.Read : ends.Write;
        HeldFd fd;
        // pipe2's own descriptions lack the O_LARGEFILE every open() adds (and F_SETFL cannot clear): the first
        // entry of each end that had none gets that description, the others a reopen.
        if ((pipe.Flags & LargeFile) == 0 && _pipe2Given.Add((pipe.PipeId, reading)))
        {
            int dup = (int)LibC.syscall(Sys.fcntl, end.Fd, OpenFlags.F_DUPFD_CLOEXEC, 0, 0, 0, 0);
            if (dup < 0) throw LinuxException.FromLastError($"fcntl(F_DUPFD_CLOEXEC) of pipe {pipe.PipeId}");
            fd = new HeldFd(dup);
        }
        else
        {
            // Ferry holds both ends, so opening either side never waits for the other; O_NONBLOCK is dropped just after.
            fd = HeldFd.Open($"/proc/self/fd/{end.Fd}",
                (reading ? OpenFlags.O_RDONLY : OpenFlags.O_WRONLY) | OpenFlags.O_NONBLOCK, $"pipe {pipe.PipeId}");
        }
        LibC.syscall(Sys.fcntl, fd.Fd, OpenFlags.F_SETFL, pipe.Flags & ~3u & ~(uint)OpenFlags.O_CLOEXEC, 0, 0, 0);
        return fd;
    }

    const uint LargeFile = 0x8000; // O_LARGEFILE
    readonly HashSet<(uint PipeId, bool Read)> _pipe2Given = new();

    (HeldFd, HeldFd) Create(uint pipeId)
    {
        int* fds = stackalloc int[2];
        if (LibC.pipe2(fds, OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK) < 0)
            throw LinuxException.FromLastError("pipe2");
        var read = new HeldFd(fds[0]);
        var write = new HeldFd(fds[1]);
        set.PipeData.TryGetValue(pipeId, out var data);
        // Without a recorded size (older images), the default buffer is grown only when the data needs it.
        uint wanted = Sizes().TryGetValue(pipeId, out var size) ? Math.Max(size, (uint)data.Length)
            : data.Length > 65536 ? (uint)data.Length : 0;
        if (wanted > 0 && LibC.syscall(Sys.fcntl, fds[1], OpenFlags.F_SETPIPE_SZ, wanted, 0, 0, 0) < 0 && wanted > 65536)
            throw new FerryException($"pipe {pipeId}: cannot set its buffer size to {wanted} bytes");
        if (data.Length > 0)
        {
            fixed (byte* p = data.Span)
                if (LibC.write(fds[1], p, (nuint)data.Length) != data.Length)
                    throw new FerryException($"pipe {pipeId}: could not refill its {data.Length} unread bytes");
        }
        return (read, write);
    }

    /// <summary>Buffer sizes from pipes-data.img (CRIU records every pipe's, with or without unread data).</summary>
    Dictionary<uint, uint> Sizes()
    {
        if (_sizes is null)
        {
            _sizes = new Dictionary<uint, uint>();
            foreach (var entry in new DumpSet.Loader(set.Directory).Entries(ImageNames.PipesData, ImageKinds.PipesData, optional: true))
                if (entry.As<pipe_data_entry>() is { HasSize: true } pipe)
                    _sizes[pipe.PipeId] = pipe.Size;
        }
        return _sizes;
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
