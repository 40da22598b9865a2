using System.Text;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Files;

/// <summary>
/// A file that was deleted while open comes back the way CRIU brings it back: it is made again next to where it
/// lived, or in the nearest directory above that still exists ("NAME.cr.ID.ghost": a regular file with its dumped
/// contents, a device node with its device number, a symlink with its target; a directory under its own name, so a
/// removed working directory reads as it did), opened, and the name is removed again, so the task holds an open,
/// deleted file and nothing is left on disk. Each ghost is made once per restore and Ferry keeps it open until the
/// restore ends: every descriptor and mapping of it is reopened through that description, so they all share one
/// file, as they did (a write through a descriptor shows in a mapping).
/// </summary>
public sealed unsafe class GhostFiles : IDisposable
{
    readonly DumpSet _set;
    readonly Dictionary<uint, HeldFd> _made = new();

    /// <summary>The ghosts of <paramref name="set"/>, made on first use; one set of them serves the whole tree.</summary>
    public GhostFiles(DumpSet set)
    {
        _set = set;
        DeadProcesses = new DeadProcessFiles(set);
    }

    /// <summary>Files of /proc directories of processes that had ended, which come back gone too.</summary>
    public DeadProcessFiles DeadProcesses { get; }

    /// <summary>A new description of the ghost of <paramref name="reg"/>, opened with <paramref name="flags"/>.</summary>
    public HeldFd Open(reg_file_entry reg, GhostFile ghost, int flags)
    {
        if (!_made.TryGetValue(ghost.Id, out var held))
            _made[ghost.Id] = held = Make(reg, ghost);
        if ((ghost.Entry.Mode & FileStatus.S_IFMT) == FileStatus.S_IFLNK)
            return Duplicate(held, reg.Name); // reopening an O_PATH symlink through /proc would follow it or name /proc's link
        return HeldFd.Open($"/proc/self/fd/{held.Fd}", flags, $"deleted file {reg.Name}");
    }

    public void Dispose()
    {
        foreach (var fd in _made.Values)
            fd.Dispose();
        _made.Clear();
        DeadProcesses.Dispose();
    }

    static HeldFd Make(reg_file_entry reg, GhostFile ghost)
    {
        var entry = ghost.Entry;
        uint type = entry.Mode & FileStatus.S_IFMT;
        bool isDirectory = type == FileStatus.S_IFDIR;
        string path = isDirectory ? InExistingParent(reg.Name) : $"{InExistingParent(reg.Name)}.cr.{ghost.Id:x}.ghost";
        switch (type)
        {
            case FileStatus.S_IFREG:
                WriteContents(reg, ghost, path);
                break;
            case FileStatus.S_IFDIR:
                Check(Call(Sys.mkdir, path, entry.Mode & 0xfff, 0), "mkdir", reg, path);
                break;
            case FileStatus.S_IFCHR or FileStatus.S_IFBLK:
                if (!entry.HasRdev)
                    throw new FerryException($"the ghost of the deleted device {reg.Name} has no rdev");
                Check(Call(Sys.mknod, path, entry.Mode, entry.Rdev), "mknod", reg, path);
                break;
            case FileStatus.S_IFLNK:
                if (!entry.HasSymlnkTarget)
                    throw new FerryException($"the ghost of the deleted symlink {reg.Name} has no symlnk_target");
                fixed (byte* target = Encoding.UTF8.GetBytes(entry.SymlnkTarget + "\0"))
                    Check(Call(Sys.symlink, (long)target, path, 0, 0, 0), "symlink", reg, path);
                break;
            default:
                throw new FerryException($"the deleted file {reg.Name} has mode {Convert.ToString(entry.Mode, 8)}, which ferry cannot make again");
        }
        try
        {
            // A device is opened only for real through the caller's flags; a symlink is held itself, not followed.
            int flags = type switch
            {
                FileStatus.S_IFREG => OpenFlags.O_RDWR,
                FileStatus.S_IFDIR => OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY,
                FileStatus.S_IFLNK => OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW,
                _ => OpenFlags.O_PATH,
            };
            var local = HeldFd.Open(path, flags, $"deleted file {reg.Name}");
            ApplyMetadata(path, entry, type);
            return local;
        }
        finally
        {
            if (isDirectory)
                Directory.Delete(path);
            else
                File.Delete(path);
        }
    }

    static void WriteContents(reg_file_entry reg, GhostFile ghost, string path)
    {
        try
        {
            using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write,
                UnixCreateMode = (UnixFileMode)(ghost.Entry.Mode & 0xfff) | UnixFileMode.UserWrite,
            });
            foreach (var (offset, data) in ghost.Chunks)
            {
                stream.Position = (long)offset;
                stream.Write(data.Span);
            }
            if (ghost.Entry.HasSize)
                stream.SetLength((long)ghost.Entry.Size);
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot recreate the deleted file {reg.Name} as {path}: {e.Message}");
        }
    }

    /// <summary>Owner, mode and times, by name (the held descriptor may be O_PATH, which fchown/fchmod refuse).</summary>
    static void ApplyMetadata(string path, ghost_file_entry entry, uint type)
    {
        const int NoFollow = 0x100; // AT_SYMLINK_NOFOLLOW
        // Owner first: chown clears the set-user-ID and set-group-ID bits the mode then sets.
        if (entry.HasUid)
            Call(Sys.fchownat, OpenFlags.AT_FDCWD, path, entry.Uid, entry.Gid, NoFollow);
        if (type != FileStatus.S_IFLNK) // a symlink's mode is always 0777
            Call(Sys.fchmodat, OpenFlags.AT_FDCWD, path, entry.Mode & 0xfff, 0, 0);
        if (entry.Atim is null || entry.Mtim is null)
            return;
        var times = stackalloc TimeSpec[2];
        times[0] = new TimeSpec { tv_sec = (long)entry.Atim.TvSec, tv_nsec = (long)entry.Atim.TvUsec * 1000 };
        times[1] = new TimeSpec { tv_sec = (long)entry.Mtim.TvSec, tv_nsec = (long)entry.Mtim.TvUsec * 1000 };
        Call(Sys.utimensat, OpenFlags.AT_FDCWD, path, (long)times, NoFollow, 0);
    }

    /// <summary>
    /// Where a ghost is made: next to where the file lived, or, when that directory is gone too, in the nearest
    /// ancestor that still exists (as CRIU does).
    /// </summary>
    static string InExistingParent(string path)
    {
        string name = Path.GetFileName(path);
        for (var parent = Path.GetDirectoryName(path); parent is not null; parent = Path.GetDirectoryName(parent))
            if (Directory.Exists(parent))
                return Path.Combine(parent, name);
        return path;
    }

    static HeldFd Duplicate(HeldFd held, string name)
    {
        long fd = LibC.syscall(Sys.fcntl, held.Fd, OpenFlags.F_DUPFD_CLOEXEC, 0, 0, 0, 0);
        if (fd < 0)
            throw new FerryException($"cannot duplicate the descriptor of the deleted symlink {name}: {Errno.Name(LinuxException.FromLastError("fcntl").ErrorNumber)}");
        return new HeldFd((int)fd);
    }

    static void Check(long result, string call, reg_file_entry reg, string path)
    {
        if (result < 0)
            throw new FerryException($"cannot make the deleted file {reg.Name} again as {path}: {call}: {Errno.Name(LinuxException.FromLastError(call).ErrorNumber)}");
    }

    static long Call(long number, string path, long a1, long a2)
    {
        fixed (byte* name = Encoding.UTF8.GetBytes(path + "\0"))
            return LibC.syscall(number, (long)name, a1, a2, 0, 0, 0);
    }

    static long Call(long number, long a0, string path, long a2, long a3, long a4)
    {
        fixed (byte* name = Encoding.UTF8.GetBytes(path + "\0"))
            return LibC.syscall(number, a0, (long)name, a2, a3, a4, 0);
    }
}
