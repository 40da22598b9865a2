using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Pipes;

/// <summary>
/// Reopens named pipes by path (the path and flags are in the regular-file entry the FIFO entry points at) and puts
/// back their unread bytes from fifo-data.img, once per FIFO. Like CRIU, Ferry first opens the FIFO read-write
/// itself: that open never blocks and makes the task's read-only or write-only open find its other end at once,
/// and the data is written through it before it is closed.
/// </summary>
public sealed unsafe class FifoRestorer(DumpSet set)
{
    readonly HashSet<uint> _refilled = new();
    IReadOnlyDictionary<uint, (pipe_data_entry Entry, ReadOnlyMemory<byte> Data)>? _data;

    /// <summary>A new descriptor of the FIFO with its dumped flags; the caller disposes it.</summary>
    public HeldFd Open(fifo_entry fifo)
    {
        uint regId = fifo.HasRegfId ? fifo.RegfId : fifo.Id;
        if (!set.Files.TryGetValue(regId, out var file) || file.Reg is null)
            throw new FerryException($"FIFO {fifo.Id}: files.img has no regular-file entry {regId} with its path");
        var reg = file.Reg;
        using var other = HeldFd.Open(reg.Name, OpenFlags.O_RDWR, $"FIFO {fifo.Id}, opened read-write to restore it");
        var fd = HeldFd.Open(reg.Name, (int)reg.Flags & ~CreationFlags, $"FIFO {fifo.Id}");
        try
        {
            if (_refilled.Add(fifo.PipeId))
                Refill(other.Fd, fifo.PipeId, reg.Name);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
        return fd;
    }

    const int CreationFlags = OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC | OpenFlags.O_NOCTTY;

    void Refill(int fd, uint pipeId, string path)
    {
        if (!Data().TryGetValue(pipeId, out var saved) || saved.Data.Length == 0)
            return;
        int size = Math.Max(saved.Data.Length, (int)Math.Min(saved.Entry.Size, int.MaxValue));
        if (LibC.syscall(Sys.fcntl, fd, OpenFlags.F_SETPIPE_SZ, size, 0, 0, 0) < 0 && saved.Data.Length > 65536)
            throw new FerryException($"FIFO {path}: cannot grow its buffer to {saved.Data.Length} bytes for its unread data");
        // Non-blocking, so a FIFO that already holds data (someone wrote since the dump) fails instead of hanging.
        LibC.syscall(Sys.fcntl, fd, OpenFlags.F_SETFL, OpenFlags.O_RDWR | OpenFlags.O_NONBLOCK, 0, 0, 0);
        fixed (byte* p = saved.Data.Span)
            if (LibC.write(fd, p, (nuint)saved.Data.Length) != saved.Data.Length)
                throw new FerryException($"FIFO {path}: could not put back its {saved.Data.Length} unread bytes");
    }

    IReadOnlyDictionary<uint, (pipe_data_entry Entry, ReadOnlyMemory<byte> Data)> Data()
    {
        if (_data is null)
        {
            var data = new Dictionary<uint, (pipe_data_entry Entry, ReadOnlyMemory<byte> Data)>();
            foreach (var entry in new DumpSet.Loader(set.Directory).Entries("fifo-data.img", ImageKinds.FifoData, optional: true))
                data[entry.As<pipe_data_entry>().PipeId] = (entry.As<pipe_data_entry>(), entry.Extra);
            _data = data;
        }
        return _data;
    }
}
