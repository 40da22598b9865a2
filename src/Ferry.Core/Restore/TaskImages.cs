using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>The images of one process: its pstree entry, one core per thread, ids, mm, pagemap, fs and fd table.</summary>
public sealed class TaskImages
{
    public required pstree_entry Process { get; init; }

    /// <summary>core-TID.img of every thread, in pstree order (the leader first).</summary>
    public required IReadOnlyList<core_entry> Threads { get; init; }
    public required task_kobj_ids_entry Ids { get; init; }
    public required mm_entry Mm { get; init; }
    public required PageMapImage Pages { get; init; }

    public required fs_entry Fs { get; init; }
    public required IReadOnlyList<fdinfo_entry> Fds { get; init; }

    public int Pid => (int)Process.Pid;
    public core_entry Leader => Threads[0];

    /// <param name="leaderCore">core-PID.img of the leader, already read by the caller.</param>
    internal static TaskImages Load(DumpSet.Loader set, ImageEntry pstreeEntry, core_entry leaderCore, IReadOnlyDictionary<uint, file_entry> files)
    {
        var process = pstreeEntry.As<pstree_entry>();
        if (process.Pid == 0)
            throw set.Defect("pstree.img", pstreeEntry.Offset, "a non-zero pid");
        if (process.Threads.Count == 0 || process.Threads[0] != process.Pid)
            throw set.Defect("pstree.img", pstreeEntry.Offset, $"the thread list of {process.Pid} to start with the leader {process.Pid}");

        uint pid = process.Pid;
        var threads = new List<core_entry>();
        foreach (uint tid in process.Threads)
        {
            string name = $"core-{tid}.img";
            var core = tid == pid ? leaderCore : set.One<core_entry>(name, ImageKinds.Core);
            if (core.Mtype != core_entry.Types.march.X8664 || core.ThreadInfo is null)
                throw set.Defect(name, 0, $"an x86_64 core with thread_info, found {core.Mtype}");
            if (core.ThreadInfo.Gpregs.Mode == user_x86_regs_mode.Compat)
                throw set.Defect(name, 0, "a 64-bit task (32-bit compat tasks are not supported)");
            if (tid == pid && core.Tc is null)
                throw set.Defect(name, 0, "task_core (tc) in the core of a thread group leader");
            threads.Add(core);
        }

        var ids = set.Exists($"ids-{pid}.img")
            ? set.One<task_kobj_ids_entry>($"ids-{pid}.img", ImageKinds.Ids)
            : threads[0].Ids ?? throw set.Defect($"ids-{pid}.img", 0, "an ids image (or ids in the core)");

        var mm = set.One<mm_entry>($"mm-{pid}.img", ImageKinds.Mm);
        CheckVmas(set, $"mm-{pid}.img", mm, files);

        var fs = set.One<fs_entry>($"fs-{pid}.img", ImageKinds.Fs);
        CheckFile(set, $"fs-{pid}.img", files, fs.CwdId, "cwd_id");
        CheckFile(set, $"fs-{pid}.img", files, fs.RootId, "root_id");

        string fdinfoName = $"fdinfo-{ids.FilesId}.img";
        var fds = new List<fdinfo_entry>();
        var seen = new HashSet<uint>();
        foreach (var entry in set.Entries(fdinfoName, ImageKinds.Fdinfo, optional: true))
        {
            var fd = entry.As<fdinfo_entry>();
            if (!seen.Add(fd.Fd))
                throw set.Defect(fdinfoName, entry.Offset, $"each fd once, fd {fd.Fd} appears twice");
            if (!files.TryGetValue(fd.Id, out var file))
                throw set.Defect(fdinfoName, entry.Offset, $"fd {fd.Fd} to name a file id of files.img, found id {fd.Id}");
            if (file.Type != fd.Type)
                throw set.Defect(fdinfoName, entry.Offset, $"fd {fd.Fd} of type {fd.Type} like file {fd.Id}, which is {file.Type}");
            fds.Add(fd);
        }

        var pages = PageMapImage.Load(set, pid, mm);
        return new TaskImages { Process = process, Threads = threads, Ids = ids, Mm = mm, Pages = pages, Fs = fs, Fds = fds };
    }

    /// <summary>A VMA of MAP_SHARED|MAP_ANONYMOUS memory (not SysV IPC or memfd, which share the status bit).</summary>
    public static bool IsSharedAnonymous(vma_entry vma) => Vma.Is(vma, Vma.AnonShared) && !Vma.Is(vma, Vma.SysVIpc | Vma.Memfd);

    /// <summary>The size a shared object needs for all its mappings: up to the end of the furthest.</summary>
    public static ulong SharedSize(IEnumerable<vma_entry> mappings) => mappings.Max(v => v.Pgoff + (v.End - v.Start));

    static void CheckVmas(DumpSet.Loader set, string name, mm_entry mm, IReadOnlyDictionary<uint, file_entry> files)
    {
        CheckFile(set, name, files, mm.ExeFileId, "exe_file_id");
        ulong previousEnd = 0;
        foreach (var vma in mm.Vmas)
        {
            if (vma.Start >= vma.End || (vma.Start | vma.End) % (ulong)Environment.SystemPageSize != 0 || vma.Start < previousEnd)
                throw set.Defect(name, 0, $"page-aligned, sorted, disjoint VMAs, found {vma.Start:x}-{vma.End:x} after {previousEnd:x}");
            previousEnd = vma.End;
            if (Vma.Is(vma, Vma.Memfd) && !(files.TryGetValue((uint)vma.Shmid, out var memfd) && memfd.Memfd is not null))
                throw set.Defect(name, 0, $"the file of VMA {vma.Start:x}-{vma.End:x} to name a memfd of files.img, found id {vma.Shmid}");
            else if (Vma.IsFileBacked(vma) && !Vma.Is(vma, Vma.Memfd))
                CheckFile(set, name, files, (uint)vma.Shmid, $"the file of VMA {vma.Start:x}-{vma.End:x}");
        }
    }

    static void CheckFile(DumpSet.Loader set, string name, IReadOnlyDictionary<uint, file_entry> files, uint id, string what)
    {
        if (!files.TryGetValue(id, out var file) || file.Reg is null)
            throw set.Defect(name, 0, $"{what} to name a regular file of files.img, found id {id}");
    }
}
