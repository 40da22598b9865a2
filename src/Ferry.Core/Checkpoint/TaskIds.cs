using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Checkpoint;

/// <summary>
/// ids-PID.img: which address space, descriptor table, fs context (cwd, root, umask) and signal handler table each
/// process has, equal when shared. As in CRIU, the dumper's own objects come first and get id 1 (the inventory's
/// root_ids), so the tree's count from 2. Only a descriptor table may be shared between processes (CLONE_FILES);
/// sharing the others (CLONE_VM, CLONE_FS, CLONE_SIGHAND without CLONE_THREAD) cannot be restored, and CRIU refuses it too.
/// </summary>
internal sealed class TaskIds
{
    // Namespaces are not dumped yet: every process is in the dumper's own (DumpLimits checks), under CRIU's ids.
    const uint PidNs = 1, NetNs = 2, IpcNs = 3, UtsNs = 4, TimeNs = 5, MntNs = 6, UserNs = 7, CgroupNs = 8;

    readonly KcmpIdTable<int> _vm, _files, _fs, _sighand;

    public TaskIds()
    {
        _vm = Table(Kcmp.KCMP_VM);
        _files = Table(Kcmp.KCMP_FILES);
        _fs = Table(Kcmp.KCMP_FS);
        _sighand = Table(Kcmp.KCMP_SIGHAND);
        Root = Of(Environment.ProcessId, out _);
    }

    /// <summary>The dumper's own ids (inventory root_ids).</summary>
    public task_kobj_ids_entry Root { get; }

    static KcmpIdTable<int> Table(int type)
    {
        uint next = 1;
        return new KcmpIdTable<int>(type, () => next++);
    }

    /// <summary>
    /// The ids of a process; a second process in one address space, fs context or handler table is refused.
    /// <paramref name="newFileTable"/> tells whether its descriptor table was met for the first time.
    /// </summary>
    public task_kobj_ids_entry Of(int pid, out bool newFileTable)
    {
        var files = _files.Get(0, pid);
        newFileTable = files.IsNew;
        var ids = new task_kobj_ids_entry
        {
            VmId = Unshared(_vm, pid, "address space (CLONE_VM)"),
            FilesId = files.Id,
            FsId = Unshared(_fs, pid, "cwd, root and umask (CLONE_FS)"),
            SighandId = Unshared(_sighand, pid, "signal handlers (CLONE_SIGHAND)"),
            PidNsId = PidNs, NetNsId = NetNs, IpcNsId = IpcNs, UtsNsId = UtsNs, TimeNsId = TimeNs, MntNsId = MntNs,
            UserNsId = UserNs, CgroupNsId = CgroupNs,
        };
        return ids;
    }

    static uint Unshared(KcmpIdTable<int> table, int pid, string what)
    {
        var (id, isNew, owner) = table.Get(0, pid);
        if (!isNew)
            throw new FerryException($"process {pid} shares its {what} with process {owner}, which ferry cannot checkpoint; the tree was left running untouched");
        return id;
    }
}
