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
    ulong _batchArea; // code pages (r-x) then one results page for TracedTask.SyscallBatch; 0 until its first batch
    readonly bool _oneArea; // the batch area and the scratch are one mapping: [code | results | scratch]
    long _lockedLength; // bytes from the results page on still read-execute: the next batch's first call makes them read-write

    internal RemoteScratch(TracedTask task, int size, bool forBatches)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        _task = task;
        Size = (int)((size + Mman.PageSize - 1) / Mman.PageSize * Mman.PageSize);
        if (forBatches)
        {
            // One remote mmap for code, results and scratch; the first batch makes the last two writable itself.
            _oneArea = true;
            _lockedLength = Mman.PageSize + Size;
            _batchArea = (ulong)task.SyscallOrThrow(Sys.mmap, 0, BatchCodeSize + _lockedLength, Mman.PROT_READ | Mman.PROT_EXEC,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
            Address = _batchArea + BatchCodeSize + Mman.PageSize;
        }
        else
        {
            Address = (ulong)task.SyscallOrThrow(Sys.mmap, 0, Size, Mman.PROT_READ | Mman.PROT_WRITE,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        }
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
    /// memory-deny-write-execute) and a results page after them. While the results page is not yet writable,
    /// <paramref name="unlock"/> is the mprotect the batch must run first (it saves a round trip of its own).
    /// </summary>
    internal (ulong Code, ulong Results) BatchArea(int calls, out RemoteCall? unlock)
    {
        if (calls + 1 > BatchResults)
            throw new ArgumentOutOfRangeException(nameof(calls), $"a batch holds at most {BatchResults - 1} remote syscalls, not {calls}");
        if (_batchArea == 0)
        {
            _batchArea = (ulong)_task.SyscallOrThrow(Sys.mmap, 0, BatchCodeSize + Mman.PageSize, Mman.PROT_READ | Mman.PROT_EXEC,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
            _lockedLength = Mman.PageSize;
        }
        var results = _batchArea + BatchCodeSize;
        unlock = _lockedLength == 0 ? null : new RemoteCall(Sys.mprotect, (long)results, _lockedLength, Mman.PROT_READ | Mman.PROT_WRITE);
        return (_batchArea, results);
    }

    /// <summary>The batch's unlocking mprotect succeeded: results (and the scratch of one area) are writable now.</summary>
    internal void Unlocked() => _lockedLength = 0;

    public void Dispose()
    {
        if (_unmapped || !_task.IsAttached) return;
        _unmapped = true;
        if (_oneArea)
        {
            _task.SyscallOrThrow(Sys.munmap, (long)_batchArea, BatchCodeSize + Mman.PageSize + Size);
            return;
        }
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
