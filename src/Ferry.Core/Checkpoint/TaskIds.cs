using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Checkpoint;

/// <summary>
/// ids-PID.img: which address space, descriptor table, fs context (cwd, root, umask) and signal handler table each
/// process has, equal when shared. As in CRIU, the dumper's own objects come first and get id 1 (the inventory's
/// root_ids), so the tree's count from 2. Processes may share a descriptor table (CLONE_FILES) and, with their parent,
/// an fs context (CLONE_FS: the restore clones the child with it); sharing an address space or signal handlers
/// (CLONE_VM, CLONE_SIGHAND without CLONE_THREAD), or an fs context with another process than the parent, cannot be
/// restored, and CRIU refuses all but CLONE_FILES.
/// Namespaces are numbered as CRIU numbers them: one counter for all kinds, in the order met, the dumper's own first
/// (pid 1, net 2, ipc 3, uts 4, time 5, mnt 6, user 7, cgroup 8), so a tree in a namespace of its own gets a
/// pid_ns_id other than root_ids.pid_ns_id.
/// </summary>
internal sealed class TaskIds
{
    static readonly string[] NamespaceKinds = ["pid", "net", "ipc", "uts", "time", "mnt", "user", "cgroup"];

    readonly KcmpIdTable<int> _vm, _files, _fs, _sighand;
    readonly Dictionary<string, uint> _namespaces = new(); // "pid:[4026531836]" (the /proc/PID/ns link) -> id
    readonly Dictionary<int, uint> _fsIds = new(); // pid -> FsId of the processes met so far

    public TaskIds()
    {
        _vm = Table(Kcmp.KCMP_VM);
        _files = Table(Kcmp.KCMP_FILES);
        _fs = Table(Kcmp.KCMP_FS);
        _sighand = Table(Kcmp.KCMP_SIGHAND);
        Root = Of(Environment.ProcessId, 0, out _);
    }

    /// <summary>The dumper's own ids (inventory root_ids).</summary>
    public task_kobj_ids_entry Root { get; }

    static KcmpIdTable<int> Table(int type)
    {
        uint next = 1;
        return new KcmpIdTable<int>(type, () => next++);
    }

    /// <summary>
    /// The ids of a process (met after its parent <paramref name="parentPid"/>); a second process in one address space
    /// or handler table, or in the fs context of another process than its parent, is refused.
    /// <paramref name="newFileTable"/> tells whether its descriptor table was met for the first time.
    /// </summary>
    public task_kobj_ids_entry Of(int pid, int parentPid, out bool newFileTable)
    {
        var files = _files.Get(0, pid);
        newFileTable = files.IsNew;
        var ids = new task_kobj_ids_entry
        {
            VmId = Unshared(_vm, pid, "address space (CLONE_VM)"),
            FilesId = files.Id,
            FsId = FsShared(pid, parentPid),
            SighandId = Unshared(_sighand, pid, "signal handlers (CLONE_SIGHAND)"),
        };
        var ns = NamespaceKinds.Select(kind => NamespaceOf(pid, kind)).ToArray();
        if (ns[0] is { } pidNs) ids.PidNsId = pidNs;
        if (ns[1] is { } netNs) ids.NetNsId = netNs;
        if (ns[2] is { } ipcNs) ids.IpcNsId = ipcNs;
        if (ns[3] is { } utsNs) ids.UtsNsId = utsNs;
        if (ns[4] is { } timeNs) ids.TimeNsId = timeNs;
        if (ns[5] is { } mntNs) ids.MntNsId = mntNs;
        if (ns[6] is { } userNs) ids.UserNsId = userNs;
        if (ns[7] is { } cgroupNs) ids.CgroupNsId = cgroupNs;
        return ids;
    }

    /// <summary>
    /// The id of the process's namespace of this kind ("pid", ..., or "pid_for_children"); null when the kernel has no
    /// such kind.
    /// </summary>
    public uint? NamespaceOf(int pid, string kind)
    {
        string? link;
        try
        {
            link = new FileInfo($"/proc/{pid}/ns/{kind}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        if (link is null) return null;
        if (!_namespaces.TryGetValue(link, out var id)) _namespaces[link] = id = (uint)_namespaces.Count + 1;
        return id;
    }

    uint FsShared(int pid, int parentPid)
    {
        var (id, isNew, owner) = _fs.Get(0, pid);
        if (!isNew && !(_fsIds.TryGetValue(parentPid, out var parentFs) && parentFs == id))
            throw new FerryException($"process {pid} shares its cwd, root and umask (CLONE_FS) with process {owner}, which is not its parent: " +
                "ferry can restore that sharing only between a parent and its child; the tree was left running untouched");
        _fsIds[pid] = id;
        return id;
    }

    static uint Unshared(KcmpIdTable<int> table, int pid, string what)
    {
        var (id, isNew, owner) = table.Get(0, pid);
        if (!isNew)
            throw new FerryException($"process {pid} shares its {what} with process {owner}, which ferry cannot checkpoint; the tree was left running untouched");
        return id;
    }
}
