using Ferry.Linux;

namespace Ferry.Tracing;

/// <summary>
/// An anonymous read-write mapping made in a stopped task by a remote mmap, for syscalls that take pointers
/// (rt_sigaction, getitimer, ...). Dispose unmaps it with a remote munmap, so dispose it while the task is stopped.
/// </summary>
public sealed class RemoteScratch : IDisposable
{
    readonly TracedTask _task;
    bool _unmapped;

    internal RemoteScratch(TracedTask task, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        _task = task;
        Size = (int)((size + Mman.PageSize - 1) / Mman.PageSize * Mman.PageSize);
        Address = (ulong)task.SyscallOrThrow(Sys.mmap, 0, Size, Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
    }

    /// <summary>The remote address of the area.</summary>
    public ulong Address { get; }

    /// <summary>Its size in bytes, rounded up to whole pages.</summary>
    public int Size { get; }

    /// <summary>The remote address at <paramref name="offset"/>, as a syscall argument.</summary>
    public long At(int offset = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)offset, (uint)Size);
        return (long)(Address + (ulong)offset);
    }

    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        Check(offset, data.Length);
        _task.Memory.Write(Address + (ulong)offset, data);
    }

    public void Read(int offset, Span<byte> buffer)
    {
        Check(offset, buffer.Length);
        _task.Memory.Read(Address + (ulong)offset, buffer);
    }

    public unsafe void Write<T>(int offset, in T value) where T : unmanaged
    {
        Check(offset, sizeof(T));
        _task.Memory.Write(Address + (ulong)offset, value);
    }

    public unsafe T Read<T>(int offset) where T : unmanaged
    {
        Check(offset, sizeof(T));
        return _task.Memory.Read<T>(Address + (ulong)offset);
    }

    public void Dispose()
    {
        if (_unmapped || !_task.IsAttached) return;
        _unmapped = true;
        _task.SyscallOrThrow(Sys.munmap, (long)Address, Size);
    }

    void Check(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{length} bytes at offset {offset} do not fit the {Size}-byte scratch area");
    }
}
