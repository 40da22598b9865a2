using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Files;

/// <summary>
/// A file that was deleted while open (or mapped) comes back the way CRIU brings it back: its dumped contents are
/// written to "NAME.cr.ID.ghost" next to where it lived, opened, and the name is removed again, so the task holds an
/// open, deleted file with the old contents and nothing is left on disk. One inode per ghost serves every description
/// and mapping of it in the tree (each reopens it through /proc/self/fd with its own flags).
/// </summary>
public static class GhostFiles
{
    /// <summary>Creates the ghost's inode, unlinked at once; returns an O_PATH descriptor of it.</summary>
    public static HeldFd Create(reg_file_entry reg, GhostFile ghost)
    {
        string path = $"{reg.Name}.cr.{ghost.Id:x}.ghost";
        var mode = (UnixFileMode)(ghost.Entry.Mode & 0xfff);
        try
        {
            using (var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode | UnixFileMode.UserWrite,
            }))
            {
                foreach (var (offset, data) in ghost.Chunks)
                {
                    stream.Position = (long)offset;
                    stream.Write(data.Span);
                }
                if (ghost.Entry.HasSize)
                    stream.SetLength((long)ghost.Entry.Size);
                if (ghost.Entry.HasUid)
                    LibC.syscall(Sys.fchown, stream.SafeFileHandle.DangerousGetHandle(), ghost.Entry.Uid, ghost.Entry.Gid, 0, 0, 0);
            }
            File.SetUnixFileMode(path, mode);
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot recreate the deleted file {reg.Name} as {path}: {e.Message}");
        }
        try
        {
            return HeldFd.Open(path, OpenFlags.O_PATH, $"deleted file {reg.Name}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
