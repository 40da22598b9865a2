using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Files;

/// <summary>
/// fs-PID.img: current and root directories (as files.img entries) and the umask. A removed working directory is
/// saved as a ghost directory (made again and removed at restore, as CRIU does); one in the /proc of a process that
/// has ended as CRIU's PROCFS remap.
/// </summary>
internal static class FsDumper
{
    public static fs_entry Dump(int pid, FileTable files, ProcStatus status) => new()
    {
        CwdId = Directory(pid, "cwd", files),
        RootId = Directory(pid, "root", files),
        Umask = (uint)status.Umask,
    };

    static uint Directory(int pid, string link, FileTable files)
    {
        var path = $"/proc/{pid}/{link}";
        var target = new FileInfo(path).LinkTarget
            ?? throw new IOException($"{path} is not a link");
        const string deleted = " (deleted)";
        bool isDeleted = target.EndsWith(deleted, StringComparison.Ordinal);
        if (isDeleted)
            target = target[..^deleted.Length];
        var deadProcess = DeadProcessFiles.DeadProcessOf(target, isDeleted);
        if (isDeleted && deadProcess is null && (link == "root" || target.StartsWith("/proc/", StringComparison.Ordinal)))
            throw new Diagnostics.FerryException($"process {pid}'s {link} directory {target} was deleted; ferry cannot checkpoint that");
        var id = files.ByPath(path, target, isDeleted && deadProcess is null, (uint)OpenFlags.O_RDONLY, recordSize: false);
        if (deadProcess is { } ended)
            files.AddDeadProcessRemap(id, ended);
        return id;
    }
}
