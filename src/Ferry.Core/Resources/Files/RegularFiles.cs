using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Files;

/// <summary>
/// Opens a regular-file entry of files.img the way the dump left it to be found: by its path, or, when it was
/// deleted, from its ghost file, or, when it was renamed or unlinked with another link left, through that link; a
/// file under /proc/PID of a process that had ended, while a short-lived process has that PID again.
/// Used for descriptors and for file mappings alike.
/// </summary>
public static class RegularFiles
{
    /// <summary>Flags that only mattered when the file was first opened.</summary>
    const int CreationFlags = OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC | OpenFlags.O_NOCTTY;

    /// <summary>O_TMPFILE is this bit with O_DIRECTORY; both only said how the file was made.</summary>
    const int TmpFile = 0x400000;

    public static HeldFd Open(DumpSet set, GhostFiles ghosts, reg_file_entry reg, int flags, string purpose)
    {
        flags &= ~CreationFlags;
        if ((flags & TmpFile) != 0)
            flags &= ~(TmpFile | OpenFlags.O_DIRECTORY);
        if (set.Remaps.TryGetValue(reg.Id, out var remap) && remap.RemapType == remap_type.Ghost)
            return ghosts.Open(reg, set.Ghosts[remap.RemapId], flags);
        if (set.Remaps.TryGetValue(reg.Id, out remap) && remap.RemapType == remap_type.Procfs)
            return ghosts.DeadProcesses.Open(reg, (int)remap.RemapId, flags);
        if (set.Remaps.TryGetValue(reg.Id, out remap) && remap.RemapType == remap_type.Linked)
            return HeldFd.Open(set.Files[remap.RemapId].Reg.Name, flags, $"link of {reg.Name}, which was renamed or unlinked");
        CheckSize(reg);
        return HeldFd.Open(reg.Name, flags, purpose);
    }

    /// <summary>
    /// Once every file is open: the links the dump made for deleted files (CRIU's link_remap files) go, as after a
    /// CRIU restore; the restored descriptors keep the inode.
    /// </summary>
    public static void RemoveLinkRemaps(DumpSet set)
    {
        foreach (var remap in set.Remaps.Values.Where(r => r.RemapType == remap_type.Linked))
            File.Delete(set.Files[remap.RemapId].Reg.Name);
    }

    /// <summary>Like CRIU, refuse a regular file whose size changed: the program's view of it would not match.</summary>
    static void CheckSize(reg_file_entry reg)
    {
        if (!reg.HasSize)
            return;
        var info = new FileInfo(reg.Name);
        if (info.Exists && info.Length != (long)reg.Size && (reg.Mode & 0xF000) == 0x8000)
            throw new FerryException($"{reg.Name} has {info.Length} bytes but had {reg.Size} at dump time; put back the dumped file");
    }
}
