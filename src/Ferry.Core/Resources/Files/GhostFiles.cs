using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Resources.Files;

/// <summary>
/// A file that was deleted while open comes back the way CRIU brings it back: its dumped contents are written to
/// "NAME.cr.ID.ghost" next to where it lived, opened, and the name is removed again, so the task holds an open,
/// deleted file with the old contents and nothing is left on disk. Each ghost is made once per restore and Ferry
/// keeps it open until the restore ends: every descriptor and mapping of it is reopened through that description,
/// so they all share one file, as they did (a write through a descriptor shows in a mapping).
/// </summary>
public sealed class GhostFiles : IDisposable
{
    readonly DumpSet _set;
    readonly Dictionary<uint, HeldFd> _made = new();

    /// <summary>The ghosts of <paramref name="set"/>, made on first use; one set of them serves the whole tree.</summary>
    public GhostFiles(DumpSet set) => _set = set;

    /// <summary>A new description of the ghost of <paramref name="reg"/>, opened with <paramref name="flags"/>.</summary>
    public HeldFd Open(reg_file_entry reg, GhostFile ghost, int flags)
    {
        if (!_made.TryGetValue(ghost.Id, out var held))
            _made[ghost.Id] = held = Make(reg, ghost);
        return HeldFd.Open($"/proc/self/fd/{held.Fd}", flags, $"deleted file {reg.Name}");
    }

    public void Dispose()
    {
        foreach (var fd in _made.Values)
            fd.Dispose();
        _made.Clear();
    }

    static HeldFd Make(reg_file_entry reg, GhostFile ghost)
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
        }
        catch (IOException e)
        {
            throw new FerryException($"cannot recreate the deleted file {reg.Name} as {path}: {e.Message}");
        }
        try
        {
            var local = HeldFd.Open(path, OpenFlags.O_RDWR, $"deleted file {reg.Name}");
            // Owner first: chown clears the set-user-ID and set-group-ID bits the mode then sets.
            if (ghost.Entry.HasUid)
                LibC.syscall(Sys.fchown, local.Fd, ghost.Entry.Uid, ghost.Entry.Gid, 0, 0, 0);
            LibC.syscall(Sys.fchmod, local.Fd, (long)mode, 0, 0, 0, 0);
            if (ghost.Entry.Mtim is { } mtime)
                File.SetLastWriteTimeUtc(path, DateTime.UnixEpoch.AddSeconds(mtime.TvSec).AddTicks((long)mtime.TvUsec * 10));
            if (ghost.Entry.Atim is { } atime)
                File.SetLastAccessTimeUtc(path, DateTime.UnixEpoch.AddSeconds(atime.TvSec).AddTicks((long)atime.TvUsec * 10));
            return local;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
