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
    ulong _batchArea; // code pages (r-x) then one results page (rw) for TracedTask.SyscallBatch; 0 until its first batch

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

    /// <summary>The bytes of code a syscall batch may take; its results page holds 512 results.</summary>
    internal const int BatchCodeSize = 4 * (int)Mman.PageSize;

    const int BatchResults = (int)Mman.PageSize / sizeof(long);

    /// <summary>
    /// Where a batch of <paramref name="calls"/> writes its code and its results, mapped on first use: read-execute
    /// pages (written through /proc/PID/mem; a mapping writable and executable at once would be refused under
    /// memory-deny-write-execute) and a read-write page after them.
    /// </summary>
    internal (ulong Code, ulong Results) BatchArea(int calls)
    {
        if (calls > BatchResults)
            throw new ArgumentOutOfRangeException(nameof(calls), $"a batch holds at most {BatchResults} remote syscalls, not {calls}");
        if (_batchArea == 0)
        {
            var area = (ulong)_task.SyscallOrThrow(Sys.mmap, 0, BatchCodeSize + Mman.PageSize, Mman.PROT_READ | Mman.PROT_EXEC,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
            _batchArea = area;
            _task.SyscallOrThrow(Sys.mprotect, (long)area + BatchCodeSize, Mman.PageSize, Mman.PROT_READ | Mman.PROT_WRITE);
        }
        return (_batchArea, _batchArea + BatchCodeSize);
    }

    public void Dispose()
    {
        if (_unmapped || !_task.IsAttached) return;
        _unmapped = true;
        _task.SyscallOrThrow(Sys.munmap, (long)Address, Size);
        if (_batchArea != 0)
            _task.SyscallOrThrow(Sys.munmap, (long)_batchArea, BatchCodeSize + Mman.PageSize);
    }

    void Check(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{length} bytes at offset {offset} do not fit the {Size}-byte scratch area");
    }
}
