using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Resources.Files;
using Ferry.Restore;

namespace Ferry.Resources.Inotify;

/// <summary>
/// Finds the inode a dumped watch is to watch again: a deleted file the tree still held comes back as a ghost file
/// (the watch goes on the restored ghost, as CRIU matches them, by device and inode); otherwise the inode itself by its
/// file handle, or, when the handle no longer opens (another filesystem instance), the path the dump saw.
/// </summary>
public sealed class WatchedInodes(DumpSet set, GhostFiles ghosts)
{
    /// <summary>An O_PATH descriptor of the watched inode, or a one-line error naming <paramref name="what"/>.</summary>
    public HeldFd Open(uint kernelDev, ulong inode, fh_entry handle, string what)
    {
        if (Ghost(kernelDev, inode) is var (reg, ghost))
            return ghosts.Open(reg, ghost, OpenFlags.O_PATH);
        var held = FileHandles.TryOpen(kernelDev, handle, what, out int error);
        if (held is not null) return held;
        if (handle.HasPath && error is Errno.ESTALE or Errno.ENOENT)
            return HeldFd.Open(handle.Path, OpenFlags.O_PATH, $"the file {what} watched");
        return FileHandles.Open(kernelDev, handle, what); // the one-line error
    }

    (reg_file_entry, GhostFile)? Ghost(uint kernelDev, ulong inode)
    {
        var userDev = DeviceNumbers.User(DeviceNumbers.KernelMajor(kernelDev), DeviceNumbers.KernelMinor(kernelDev));
        foreach (var remap in set.Remaps.Values)
            if (remap.RemapType == remap_type.Ghost && set.Ghosts.TryGetValue(remap.RemapId, out var ghost)
                && ghost.Entry.Ino == inode && (ghost.Entry.Dev == kernelDev || ghost.Entry.Dev == userDev)
                && set.Files.TryGetValue(remap.OrigId, out var file) && file.Reg is { } reg)
                return (reg, ghost);
        return null;
    }
}
