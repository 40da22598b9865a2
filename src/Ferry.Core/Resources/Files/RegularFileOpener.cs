using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Restore;

namespace Ferry.Resources.Files;

/// <summary>
/// Opens the file a regular file entry names, for a descriptor or a mapping: the file at its path (refused when its
/// size changed, like CRIU), the link a renamed or unlinked file was saved under, or the tree's one copy of a ghost.
/// </summary>
public sealed class RegularFileOpener(DumpSet set, SharedObjects shared)
{
    /// <summary>A new descriptor of the file with exactly <paramref name="flags"/>; the caller disposes it.</summary>
    public HeldFd Open(reg_file_entry reg, int flags, string purpose)
    {
        if (set.Remaps.TryGetValue(reg.Id, out var remap) && remap.RemapType == remap_type.Ghost)
        {
            var ghost = shared.Ghost(remap.RemapId, () => GhostFiles.Create(reg, set.Ghosts[remap.RemapId]));
            return HeldFd.Open($"/proc/self/fd/{ghost.Fd}", flags, $"deleted file {reg.Name} ({purpose})");
        }
        if (remap?.RemapType == remap_type.Linked)
            return HeldFd.Open(set.Files[remap.RemapId].Reg.Name, flags, $"link of {reg.Name}, which was renamed or unlinked ({purpose})");
        CheckSize(reg);
        return HeldFd.Open(reg.Name, flags, purpose);
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
