using System.Text;
using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Pipes;

/// <summary>
/// Reopens named pipes (the path and flags are in the regular-file entry the FIFO entry points at) and puts back
/// their unread bytes from fifo-data.img. Like CRIU, Ferry first opens each FIFO read-write itself: that open never
/// blocks and gives the task's read-only or write-only opens their other end at once; the data goes in through it.
/// Ferry keeps that description until the task has its descriptors, and the task's own descriptions are reopened
/// through it, so a FIFO that was deleted while open (a ghost: made again under a temporary name that is removed
/// at once) stays one FIFO for all its descriptors.
/// </summary>
public sealed unsafe class FifoRestorer(DumpSet set) : IDisposable
{
    const int CreationFlags = OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC | OpenFlags.O_NOCTTY;
    const uint FifoType = 0x1000;

    readonly Dictionary<uint, HeldFd> _held = new();
    IReadOnlyDictionary<uint, (pipe_data_entry Entry, ReadOnlyMemory<byte> Data)>? _data;

    /// <summary>A new description of the FIFO with its dumped flags; the caller disposes it.</summary>
    public HeldFd Open(fifo_entry fifo)
    {
        uint regId = fifo.HasRegfId ? fifo.RegfId : fifo.Id;
        if (!set.Files.TryGetValue(regId, out var file) || file.Reg is null)
            throw new FerryException($"FIFO {fifo.Id}: files.img has no regular-file entry {regId} with its path");
        var reg = file.Reg;
        if (!_held.TryGetValue(fifo.PipeId, out var held))
        {
            held = OpenReadWrite(reg, fifo.Id);
            _held[fifo.PipeId] = held;
            Refill(held.Fd, fifo.PipeId, reg.Name);
        }
        return HeldFd.Open($"/proc/self/fd/{held.Fd}", (int)reg.Flags & ~CreationFlags, $"FIFO {reg.Name}");
    }

    public void Dispose()
    {
        foreach (var fd in _held.Values)
            fd.Dispose();
        _held.Clear();
    }

    HeldFd OpenReadWrite(reg_file_entry reg, uint fifoId)
    {
        if (!(set.Remaps.TryGetValue(reg.Id, out var remap) && remap.RemapType == remap_type.Ghost))
            return HeldFd.Open(reg.Name, OpenFlags.O_RDWR, $"FIFO {fifoId}, opened read-write to restore it");
        var ghost = set.Ghosts[remap.RemapId].Entry;
        string path = $"{reg.Name}.cr.{remap.RemapId:x}.ghost";
        long made;
        fixed (byte* name = Encoding.UTF8.GetBytes(path + "\0"))
            made = LibC.syscall(Sys.mknod, (long)name, FifoType | (ghost.Mode & 0xfff), 0, 0, 0, 0);
        if (made < 0)
            throw new FerryException($"cannot make the deleted FIFO {reg.Name} again as {path}: {Errno.Name(LinuxException.FromLastError("mknod").ErrorNumber)}");
        try
        {
            var fd = HeldFd.Open(path, OpenFlags.O_RDWR, $"deleted FIFO {reg.Name}");
            if (ghost.HasUid)
                LibC.syscall(Sys.fchown, fd.Fd, ghost.Uid, ghost.Gid, 0, 0, 0);
            return fd;
        }
        finally
        {
            File.Delete(path);
        }
    }

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
            foreach (var entry in new DumpSet.Loader(set.Directory).Entries(ImageNames.FifoData, ImageKinds.FifoData, optional: true))
                data[entry.As<pipe_data_entry>().PipeId] = (entry.As<pipe_data_entry>(), entry.Extra);
            _data = data;
        }
        return _data;
    }
}
