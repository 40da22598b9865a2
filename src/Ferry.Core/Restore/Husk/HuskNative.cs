using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Restore.Husk;

/// <summary>
/// Private libc imports for launching the husk. Declared here until Ferry.Linux grows them (it belongs to the
/// interop owner); move them there then.
/// </summary>
internal static unsafe partial class HuskNative
{
    public const int WUNTRACED = 2, __WALL = 0x40000000, SIGSTOP = 19, SIGKILL = 9, O_RDONLY = 0;
    const uint MFD_CLOEXEC = 1;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int memfd_create(string name, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchmod(int fd, uint mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn(int* pid, string path, void* fileActions, void* attributes, nint* argv, nint* envp);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, string path, int flags, uint mode);

    /// <summary>glibc ≥ 2.34: close every descriptor from <paramref name="fromFd"/> up in the child.</summary>
    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_addclosefrom_np(void* fileActions, int fromFd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    /// <summary>A close-on-exec memfd with mode 0700.</summary>
    public static SafeFileHandle CreateMemfd(string name)
    {
        int fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0) throw new IOException($"memfd_create({name}) failed: errno {Marshal.GetLastPInvokeError()}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (fchmod(fd, 0x1c0) != 0) // 0700
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"fchmod(memfd {name}, 0700) failed: errno {errno}");
        }
        return handle;
    }
}
