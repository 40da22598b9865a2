namespace Ferry.Procfs;

public enum FdTargetKind : byte
{
    /// <summary>A path in the filesystem (possibly " (deleted)").</summary>
    Path,
    /// <summary>"pipe:[INODE]".</summary>
    Pipe,
    /// <summary>"socket:[INODE]".</summary>
    Socket,
    /// <summary>"anon_inode:[eventfd]", "anon_inode:inotify", "anon_inode:[timerfd]"…</summary>
    AnonInode,
    /// <summary>Another "type:[...]" form (e.g. "net:[4026531840]" for nsfs).</summary>
    Other,
}

/// <summary>One open descriptor: its number and what readlink(/proc/PID/fd/N) says.</summary>
/// <param name="Target">The link text as the kernel gives it, including any " (deleted)".</param>
/// <param name="Inode">For pipe:[N] and socket:[N], N; otherwise 0.</param>
/// <param name="AnonName">For anon_inode:NAME, NAME without brackets ("eventfd", "inotify"); otherwise null.</param>
public sealed record FdEntry(int Fd, string Target, FdTargetKind Kind, ulong Inode, string? AnonName, bool Deleted)
{
    /// <summary>The path without " (deleted)", for Kind == Path.</summary>
    public string Path => Deleted ? Target[..^DeletedSuffix.Length] : Target;

    internal const string DeletedSuffix = " (deleted)";
}

/// <summary>Lists /proc/PID/fd.</summary>
public static class ProcFds
{
    /// <summary>All descriptors, sorted by number. A descriptor closed while we list it is skipped.</summary>
    public static List<FdEntry> Read(int pid)
    {
        string dir = ProcFile.PathOf(pid, "fd");
        string[] names;
        try
        {
            names = Directory.GetFileSystemEntries(dir);
        }
        catch (Exception e) when (ProcFile.IsMissingProcess(pid, e))
        {
            throw new ProcessNotFoundException(pid, e);
        }
        var entries = new List<FdEntry>(names.Length);
        foreach (string path in names)
        {
            if (!int.TryParse(System.IO.Path.GetFileName(path), out int fd)) continue;
            string? target;
            try
            {
                target = new FileInfo(path).LinkTarget;
            }
            catch (IOException)
            {
                continue;
            }
            if (target is not null) entries.Add(Classify(fd, target));
        }
        ProcFile.EnsureProcessExists(pid);
        entries.Sort((a, b) => a.Fd.CompareTo(b.Fd));
        return entries;
    }

    public static FdEntry Classify(int fd, string target)
    {
        if (target.StartsWith('/'))
            return new FdEntry(fd, target, FdTargetKind.Path, 0, null, target.EndsWith(FdEntry.DeletedSuffix, StringComparison.Ordinal));
        if (target.StartsWith("anon_inode:", StringComparison.Ordinal))
            return new FdEntry(fd, target, FdTargetKind.AnonInode, 0, target[11..].Trim('[', ']'), false);
        if (TryBracketedInode(target, "pipe:", out ulong pipe))
            return new FdEntry(fd, target, FdTargetKind.Pipe, pipe, null, false);
        if (TryBracketedInode(target, "socket:", out ulong socket))
            return new FdEntry(fd, target, FdTargetKind.Socket, socket, null, false);
        return new FdEntry(fd, target, FdTargetKind.Other, 0, null, false);
    }

    static bool TryBracketedInode(string target, string prefix, out ulong inode)
    {
        inode = 0;
        return target.StartsWith(prefix, StringComparison.Ordinal) && target.EndsWith(']')
            && target.Length > prefix.Length + 2 && target[prefix.Length] == '['
            && ulong.TryParse(target.AsSpan(prefix.Length + 1, target.Length - prefix.Length - 2), out inode);
    }
}
