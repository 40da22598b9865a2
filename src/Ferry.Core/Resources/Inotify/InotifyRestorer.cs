using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Resources.Files;

namespace Ferry.Resources.Inotify;

/// <summary>
/// A new inotify instance with the dumped watches under their dumped watch descriptors: each inode is opened (see
/// <see cref="WatchedInodes"/>) and watched through /proc/self/fd/N with the dumped mask, after INOTIFY_IOC_SETNEXTWD names the
/// descriptor the kernel hands out next.
/// </summary>
internal static class InotifyRestorer
{
    const ulong SetNextWd = 0x40044900; // INOTIFY_IOC_SETNEXTWD = _IOW('I', 0, __s32); the argument is the value itself
    const uint KeptMask = 0xfff | 0x80000000 | 0x04000000; // IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK

    public static unsafe HeldFd Open(inotify_file_entry entry, WatchedInodes watched)
    {
        var what = $"inotify {entry.Id}";
        var held = AnonInodeFiles.Created(LibC.syscall(Sys.inotify_init1, OpenFlags.O_CLOEXEC, 0, 0, 0, 0, 0), what);
        try
        {
            AnonInodeFiles.SetStatusFlags(held, entry.Flags, what);
            foreach (var watch in entry.Wd.OrderBy(w => w.Wd))
            {
                var watchWhat = $"watch {watch.Wd} of {what}";
                using var target = watched.Open(watch.SDev, watch.IIno, watch.FHandle, watchWhat);
                if (LibC.ioctl(held.Fd, SetNextWd, (void*)watch.Wd) < 0)
                    throw new FerryException($"cannot restore {watchWhat}: ioctl(INOTIFY_IOC_SETNEXTWD) failed with {Errno.Name(LinuxException.FromLastError("ioctl").ErrorNumber)}");
                long wd;
                fixed (byte* path = System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{target.Fd}\0"))
                    wd = LibC.syscall(Sys.inotify_add_watch, held.Fd, (long)path, watch.Mask & KeptMask, 0, 0, 0);
                if (wd < 0)
                    throw new FerryException($"cannot restore {watchWhat}: inotify_add_watch failed with {Errno.Name(LinuxException.FromLastError("inotify_add_watch").ErrorNumber)}");
                if (wd != watch.Wd)
                    throw new FerryException($"cannot restore {watchWhat}: the kernel gave it watch descriptor {wd}");
            }
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }
}
