using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ferry.Linux;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Tracing;

/// <summary>
/// Reads and writes another process's memory. process_vm_readv/writev first (fastest, but it honours page
/// protections); what it cannot do is retried through /proc/PID/mem, which reaches unreadable and read-only
/// private pages too (FOLL_FORCE). Needs no ptrace stop and may be used from any thread.
/// </summary>
public sealed unsafe class RemoteMemory(int pid) : IDisposable
{
    readonly Lock _memLock = new();
    SafeFileHandle? _mem;

    public int Pid { get; } = pid;

    public void Read(ulong address, Span<byte> buffer)
    {
        var done = 0;
        fixed (byte* p = buffer)
        {
            if (buffer.Length > 0) done = Transfer(address, p, buffer.Length, write: false);
            while (done < buffer.Length)
            {
                var n = LibC.pread(Mem(), p + done, (nuint)(buffer.Length - done), (long)(address + (ulong)done));
                if (n <= 0) throw Failure("read", address, buffer.Length, done, n);
                done += (int)n;
            }
        }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        var done = 0;
        fixed (byte* p = data)
        {
            if (data.Length > 0) done = Transfer(address, p, data.Length, write: true);
            while (done < data.Length)
            {
                var n = LibC.pwrite(Mem(), p + done, (nuint)(data.Length - done), (long)(address + (ulong)done));
                if (n <= 0) throw Failure("write", address, data.Length, done, n);
                done += (int)n;
            }
        }
    }

    /// <summary>
    /// Reads many remote ranges, back to back, into <paramref name="destination"/> (which must hold their total
    /// length): up to 1024 ranges per process_vm_readv, falling back range by range where that stops short.
    /// </summary>
    public void ReadRanges(ReadOnlySpan<RemoteRange> ranges, Span<byte> destination)
    {
        long total = 0;
        foreach (var range in ranges) total += range.Length;
        if (total != destination.Length)
            throw new ArgumentException($"the ranges hold {total} bytes, the destination {destination.Length}", nameof(destination));
        const int batch = 1024; // IOV_MAX
        var local = stackalloc IoVec[batch];
        var remote = stackalloc IoVec[batch];
        fixed (byte* start = destination)
        {
            var offset = 0;
            for (var first = 0; first < ranges.Length; first += batch)
            {
                var count = Math.Min(batch, ranges.Length - first);
                var wanted = 0;
                for (var i = 0; i < count; i++)
                {
                    var range = ranges[first + i];
                    local[i] = new IoVec { Base = (nint)(start + offset + wanted), Length = (nuint)range.Length };
                    remote[i] = new IoVec { Base = (nint)range.Address, Length = (nuint)range.Length };
                    wanted += range.Length;
                }
                var n = LibC.process_vm_readv(Pid, local, (nuint)count, remote, (nuint)count, 0);
                if (n < 0 && Marshal.GetLastPInvokeError() == Errno.ESRCH) throw LinuxException.FromLastError("process_vm_readv", Pid);
                if (n != wanted)
                    for (var i = 0; i < count; i++) // the slow way, with the /proc/PID/mem fallback
                        Read(ranges[first + i].Address, new Span<byte>((void*)local[i].Base, ranges[first + i].Length));
                offset += wanted;
            }
        }
    }

    public T Read<T>(ulong address) where T : unmanaged
    {
        T value;
        Read(address, new Span<byte>(&value, sizeof(T)));
        return value;
    }

    public void Write<T>(ulong address, in T value) where T : unmanaged =>
        Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    public void Dispose()
    {
        lock (_memLock) _mem?.Dispose();
    }

    /// <summary>process_vm_readv/writev; returns how many bytes it moved before a fault (0 on any error).</summary>
    int Transfer(ulong address, byte* local, int length, bool write)
    {
        var localVec = new IoVec { Base = (nint)local, Length = (nuint)length };
        var remoteVec = new IoVec { Base = (nint)address, Length = (nuint)length };
        var n = write
            ? LibC.process_vm_writev(Pid, &localVec, 1, &remoteVec, 1, 0)
            : LibC.process_vm_readv(Pid, &localVec, 1, &remoteVec, 1, 0);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.ESRCH) throw new LinuxException(write ? "process_vm_writev" : "process_vm_readv", Pid, errno);
            return 0;
        }
        return (int)n;
    }

    SafeFileHandle Mem()
    {
        lock (_memLock)
        {
            if (_mem is { IsInvalid: false, IsClosed: false }) return _mem;
            var handle = LibC.open($"/proc/{Pid}/mem", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
            if (handle.IsInvalid) throw LinuxException.FromLastError($"open /proc/{Pid}/mem", Pid);
            return _mem = handle;
        }
    }

    LinuxException Failure(string what, ulong address, int length, int done, nint result)
    {
        var errno = result == 0 ? Errno.EIO : Marshal.GetLastPInvokeError();
        return new LinuxException($"{what} of {length} bytes at 0x{address:x} (stopped at 0x{address + (ulong)done:x}) in /proc/{Pid}/mem", Pid, errno);
    }
}

/// <summary>A range of another process's memory.</summary>
public readonly record struct RemoteRange(ulong Address, int Length);
