using System.Runtime.InteropServices;
using Ferry.Linux;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Namespaces;

/// <summary>The few raw calls the namespace code needs beyond <see cref="LibC"/>, each turned into an exception on failure.</summary>
internal static unsafe partial class NamespaceNative
{
    /// <summary>glibc ≥ 2.34: close every descriptor from <paramref name="fromFd"/> up in the child.</summary>
    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_addclosefrom_np(void* actions, int fromFd);

    const long MFD_CLOEXEC = 1;

    /// <summary>A close-on-exec memfd with mode 0700.</summary>
    public static SafeFileHandle CreateExecutableMemfd(string name)
    {
        nint utf8 = Marshal.StringToCoTaskMemUTF8(name);
        long fd;
        try { fd = LibC.syscall(Sys.memfd_create, utf8, MFD_CLOEXEC, 0, 0, 0, 0); }
        finally { Marshal.FreeCoTaskMem(utf8); }
        if (fd < 0) throw LinuxException.FromLastError($"memfd_create({name})");
        var handle = new SafeFileHandle((nint)fd, ownsHandle: true);
        if (LibC.syscall(Sys.fchmod, fd, 0x1c0, 0, 0, 0, 0) < 0) // 0700
        {
            var error = LinuxException.FromLastError($"fchmod(memfd {name}, 0700)");
            handle.Dispose();
            throw error;
        }
        return handle;
    }

    /// <summary>
    /// A pipe whose two ends are numbered 10 or more (and close-on-exec), so that dup2-ing them onto the small
    /// descriptor numbers a spawned program expects can never overwrite another source descriptor.
    /// </summary>
    public static (int Read, int Write) HighPipe()
    {
        int* fds = stackalloc int[2];
        if (LibC.pipe2(fds, OpenFlags.O_CLOEXEC) < 0) throw LinuxException.FromLastError("pipe2");
        try { return (DupHigh(fds[0]), DupHigh(fds[1])); }
        finally
        {
            LibC.close(fds[0]);
            LibC.close(fds[1]);
        }
    }

    /// <summary>A close-on-exec duplicate of <paramref name="fd"/> numbered 10 or more.</summary>
    public static int DupHigh(int fd)
    {
        long copy = LibC.syscall(Sys.fcntl, fd, OpenFlags.F_DUPFD_CLOEXEC, 10, 0, 0, 0);
        if (copy < 0) throw LinuxException.FromLastError("fcntl(F_DUPFD_CLOEXEC)");
        return (int)copy;
    }

    public static void Close(ref int fd)
    {
        if (fd >= 0) LibC.close(fd);
        fd = -1;
    }

    /// <summary>Reads exactly 4 bytes (one int); null at EOF.</summary>
    public static int? ReadInt(int fd)
    {
        int value = 0;
        int done = 0;
        while (done < 4)
        {
            nint n = LibC.read(fd, (byte*)&value + done, (nuint)(4 - done));
            if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
            if (n < 0) throw LinuxException.FromLastError("read from ferry-init");
            if (n == 0) return null;
            done += (int)n;
        }
        return value;
    }

    public static void Write(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            nint n;
            do n = LibC.write(fd, p, (nuint)bytes.Length);
            while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            if (n < 0) throw LinuxException.FromLastError("write to ferry-init");
        }
    }

    /// <summary>waitpid for one specific child, retrying on EINTR; returns the raw wait status.</summary>
    public static int WaitFor(int pid, int options = Wait.__WALL)
    {
        int status;
        while (true)
        {
            int r = LibC.waitpid(pid, &status, options);
            if (r == pid) return status;
            if (r == 0) return -1; // WNOHANG and still running
            if (Marshal.GetLastPInvokeError() != Errno.EINTR) throw LinuxException.FromLastError("waitpid", pid);
        }
    }
}
