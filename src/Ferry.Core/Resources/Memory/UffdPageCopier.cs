using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Resources.Memory;

/// <summary>
/// Fills fresh anonymous memory of a task with UFFDIO_COPY: the kernel allocates each page and copies into it
/// directly, skipping the zeroing and the fault path that process_vm_writev into untouched memory pays (measured
/// 1.3-1.8x faster here). The userfaultfd is created inside the task (it belongs to the task's mm), taken over by
/// Ferry with pidfd_getfd, and unregistered and closed again before the task runs, so it leaves no trace.
/// </summary>
public sealed unsafe class UffdPageCopier : IDisposable
{
    const ulong UffdioCopy = 0xC028AA03; // _IOWR(0xAA, 0x03, struct uffdio_copy)
    const int UffdFlags = OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK;

    readonly int _uffd;
    readonly List<(ulong Start, ulong Length)> _registered = new();

    UffdPageCopier(int uffd) => _uffd = uffd;

    [StructLayout(LayoutKind.Sequential)]
    struct UffdioCopyArgs
    {
        public ulong dst, src, len, mode;
        public long copy;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct UffdioRange
    {
        public ulong start, len;
    }

    /// <summary>A copier for <paramref name="task"/>, or null when userfaultfd is not available (then pages go by process_vm_writev).</summary>
    public static UffdPageCopier? TryOpen(TracedTask task)
    {
        long remote = task.Syscall(Sys.userfaultfd, UffdFlags);
        if (remote < 0)
            return null;
        int local = -1;
        int pidfd = (int)LibC.syscall(Sys.pidfd_open, task.Pid, 0, 0, 0, 0, 0);
        if (pidfd >= 0)
        {
            local = (int)LibC.syscall(Sys.pidfd_getfd, pidfd, remote, 0, 0, 0, 0);
            LibC.close(pidfd);
        }
        task.SyscallOrThrow(Sys.close, remote);
        if (local < 0)
            return null;
        var api = new UffdioApi { api = Uffd.UFFD_API };
        if (LibC.ioctl(local, Uffd.UFFDIO_API, &api) < 0)
        {
            LibC.close(local);
            return null;
        }
        return new UffdPageCopier(local);
    }

    /// <summary>Registers an anonymous range for missing-page copies; false when the kernel refuses that range.</summary>
    public bool Register(ulong start, ulong length)
    {
        var register = new UffdioRegister { start = start, len = length, mode = Uffd.UFFDIO_REGISTER_MODE_MISSING };
        if (LibC.ioctl(_uffd, Uffd.UFFDIO_REGISTER, &register) < 0)
            return false;
        _registered.Add((start, length));
        return true;
    }

    /// <summary>Copies <paramref name="length"/> bytes from Ferry's <paramref name="source"/> to the task's <paramref name="destination"/>.</summary>
    public void Copy(ulong destination, byte* source, ulong length)
    {
        ulong done = 0;
        while (done < length)
        {
            var args = new UffdioCopyArgs { dst = destination + done, src = (ulong)(source + done), len = length - done };
            int result = LibC.ioctl(_uffd, UffdioCopy, &args);
            if (args.copy > 0)
                done += (ulong)args.copy;
            if (result == 0)
                continue;
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.EAGAIN or Errno.EINTR)
                continue;
            throw new FerryException($"UFFDIO_COPY of pages at 0x{destination + done:x} failed: {Errno.Name(errno)}");
        }
    }

    public void Dispose()
    {
        foreach (var (start, length) in _registered)
        {
            var range = new UffdioRange { start = start, len = length };
            LibC.ioctl(_uffd, Uffd.UFFDIO_UNREGISTER, &range);
        }
        LibC.close(_uffd);
    }
}
