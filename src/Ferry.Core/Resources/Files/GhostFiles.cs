using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Files;

/// <summary>
/// A file that was deleted while open comes back the way CRIU brings it back: its dumped contents are written to
/// "NAME.cr.ID.ghost" next to where it lived, the description is opened, and the name is removed again, so the
/// task holds an open, deleted file with the old contents and nothing is left on disk.
/// </summary>
public static class GhostFiles
{
    public static HeldFd Open(reg_file_entry reg, GhostFile ghost, int flags)
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
            }
            File.SetUnixFileMode(path, mode);
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot recreate the deleted file {reg.Name} as {path}: {e.Message}");
        }
        try
        {
            var local = HeldFd.Open(path, flags, $"deleted file {reg.Name}");
            if (ghost.Entry.HasUid)
                LibC.syscall(Sys.fchown, local.Fd, ghost.Entry.Uid, ghost.Entry.Gid, 0, 0, 0);
            return local;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
