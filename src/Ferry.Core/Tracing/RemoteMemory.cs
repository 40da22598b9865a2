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

    public T Read<T>(ulong address) where T : unmanaged
    {
        T value;
        Read(address, new Span<byte>(&value, sizeof(T)));
        return value;
    }

    public void Write<T>(ulong address, in T value) where T : unmanaged =>
        Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    public void Dispose() => _mem?.Dispose();

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
        if (_mem is { IsInvalid: false, IsClosed: false }) return _mem;
        var handle = LibC.open($"/proc/{Pid}/mem", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
        if (handle.IsInvalid) throw LinuxException.FromLastError($"open /proc/{Pid}/mem", Pid);
        return _mem = handle;
    }

    LinuxException Failure(string what, ulong address, int length, int done, nint result)
    {
        var errno = result == 0 ? Errno.EIO : Marshal.GetLastPInvokeError();
        return new LinuxException($"{what} of {length} bytes at 0x{address:x} (stopped at 0x{address + (ulong)done:x}) in /proc/{Pid}/mem", Pid, errno);
    }
}
