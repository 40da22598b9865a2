using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;
using Ferry.Resources.Inotify;

namespace Ferry.Resources.Fanotify;

/// <summary>
/// A new fanotify group with the dumped init flags and marks: an inode mark goes on the inode found again (see
/// <see cref="WatchedInodes"/>) through /proc/self/fd/N, a mount mark on the dumped mount point (or, without one, the
/// mount of that id in Ferry's mount table); each mark gets its mask, then its ignored mask.
/// </summary>
internal static class FanotifyRestorer
{
    const uint MarkAdd = 0x1, MarkMount = 0x10, IgnoredMask = 0x20, IgnoredSurvivesModify = 0x40, Ignore = 0x400;

    public static unsafe HeldFd Open(fanotify_file_entry entry, WatchedInodes watched)
    {
        var what = $"fanotify {entry.Id}";
        // FAN_CLOEXEC would show in the group's flags: Ferry's descriptor is made close-on-exec afterwards instead.
        var held = AnonInodeFiles.Created(LibC.syscall(Sys.fanotify_init, entry.Faflags, entry.Evflags, 0, 0, 0, 0), what);
        try
        {
            LibC.syscall(Sys.fcntl, held.Fd, OpenFlags.F_SETFD, OpenFlags.FD_CLOEXEC, 0, 0, 0);
            AnonInodeFiles.SetStatusFlags(held, entry.Flags, what);
            foreach (var mark in entry.Mark)
            {
                var markWhat = $"a {mark.Type} mark of {what}";
                using var target = mark.Type == mark_type.Inode && mark.Ie is { } inode
                    ? watched.Open(mark.SDev, inode.IIno, inode.FHandle, markWhat) : null;
                string path = target is not null ? $"/proc/self/fd/{target.Fd}" : MountPoint(mark, markWhat);
                uint kind = mark.Type == mark_type.Mount ? MarkMount : 0;
                if (mark.Mask != 0)
                    Mark(held, MarkAdd | kind | (mark.Mflags & ~(IgnoredSurvivesModify | Ignore)), mark.Mask, path, markWhat);
                if (mark.IgnoredMask != 0)
                    Mark(held, MarkAdd | kind | mark.Mflags | ((mark.Mflags & Ignore) != 0 ? 0 : IgnoredMask), mark.IgnoredMask, path, markWhat);
            }
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    static string MountPoint(fanotify_mark_entry mark, string what)
    {
        if (mark.Me is not { } mount)
            throw new FerryException($"files.img: {what} has no inode or mount entry");
        if (mount.HasPath) return mount.Path;
        return ProcMountInfo.Read(Environment.ProcessId).FirstOrDefault(m => m.MountId == mount.MntId)?.MountPoint
            ?? throw new FerryException($"{what}: mount {mount.MntId} is gone and no path was saved");
    }

    static unsafe void Mark(HeldFd group, uint flags, uint mask, string path, string what)
    {
        long result;
        fixed (byte* name = System.Text.Encoding.UTF8.GetBytes(path + "\0"))
            result = LibC.syscall(Sys.fanotify_mark, group.Fd, flags, mask, OpenFlags.AT_FDCWD, (long)name, 0);
        if (result < 0)
            throw new FerryException($"cannot restore {what} on {path} (flags 0x{flags:x}, mask 0x{mask:x}): fanotify_mark failed with " +
                Errno.Name(LinuxException.FromLastError("fanotify_mark").ErrorNumber));
    }
}
