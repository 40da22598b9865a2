using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Checkpoint;

/// <summary>
/// What this version cannot checkpoint faithfully, checked once the process is frozen (so it cannot change):
/// rather than writing images that would restore something different, the dump stops with one line.
/// </summary>
internal static class DumpLimits
{
    // ipc: a tree in an IPC namespace of its own is dumped with it (Resources/Ipc/IpcNamespaceDumper checks the tree).
    static readonly (string Kind, Func<task_kobj_ids_entry, uint> Id)[] Namespaces =
    [
        ("pid", i => i.PidNsId), ("mnt", i => i.MntNsId), ("net", i => i.NetNsId),
        ("uts", i => i.UtsNsId), ("user", i => i.UserNsId), ("cgroup", i => i.CgroupNsId),
    ];

    /// <param name="inOwnPidNamespace">The tree lives in a pid and mount namespace of its own (ferry-init's, or one whose init is
    /// the root), which a restore recreates.</param>
    const ulong SigTrapBit = 1UL << (5 - 1);

    /// <param name="ids">The process's ids from <paramref name="taskIds"/>: its namespaces are compared with the dumper's there.</param>
    public static void Check(int pid, ProcStatus status, IReadOnlyList<MapsEntry> maps, task_kobj_ids_entry ids, TaskIds taskIds, bool inOwnPidNamespace)
    {
        if (status.Seccomp != 0)
            throw Refuse(pid, "runs under seccomp, which ferry cannot checkpoint yet");
        // A single step of a remote syscall unblocks SIGTRAP, so a queued one would be taken (or handled) by the dump.
        if (((status.SigPnd | status.ShdPnd) & SigTrapBit) != 0)
            throw Refuse(pid, "has a SIGTRAP pending (queued while blocked), which ferry's single-stepped syscalls would take; ferry cannot checkpoint it yet");
        foreach (var (ns, id) in Namespaces)
        {
            if (inOwnPidNamespace && ns is "pid" or "mnt") continue;
            if (id(ids) != id(taskIds.Root)) // 0 on both sides when the kernel lacks the kind
                throw Refuse(pid, $"is in another {ns} namespace ({NamespaceOf($"/proc/{pid}/ns/{ns}")}), which ferry cannot checkpoint yet");
        }
        // MAP_HUGETLB memory and hugetlbfs files live on a file system of device major 0, so only those are looked at.
        foreach (var map in maps)
            if (map.Inode != 0 && map.DevMajor == 0
                && Resources.Memfd.Hugetlb.PageSizeOf($"/proc/{pid}/map_files/{map.Start:x}-{map.End:x}") is var pageSize and > 0)
                throw Refuse(pid, $"maps hugetlb memory at 0x{map.Start:x}-0x{map.End:x} ({map.Path}, {pageSize >> 10} KiB pages), which ferry cannot checkpoint yet");
        // unshare(CLONE_NEWPID or CLONE_NEWTIME) with no child yet: the namespace waits for children to come.
        foreach (var (ns, own) in new[] { ("pid", ids.PidNsId), ("time", ids.TimeNsId) })
        {
            if (own != 0 && taskIds.NamespaceOf(pid, $"{ns}_for_children") is { } forChildren && forChildren != own)
                throw Refuse(pid, $"made a new {ns} namespace for its future children ({NamespaceOf($"/proc/{pid}/ns/{ns}_for_children")}), which ferry cannot checkpoint yet");
        }
    }

    /// <summary>
    /// Before freezing: a child that shares its parent's address space (vfork) cannot be checkpointed, and its parent
    /// could not even be stopped (it sleeps until the child execs or exits, deaf to PTRACE_INTERRUPT). Looked at on
    /// the running tree, so a vfork starting meanwhile slips through (TaskIds refuses it once frozen), but one that
    /// lasts long enough to be dumped is found here.
    /// </summary>
    public static void CheckBeforeFreeze(int rootPid)
    {
        var pending = new Stack<int>([rootPid]);
        while (pending.TryPop(out var pid))
        {
            List<int> children;
            try
            {
                children = ProcTasks.ReadAllChildren(pid);
            }
            catch (ProcessNotFoundException) when (pid != rootPid)
            {
                continue; // exited meanwhile
            }
            foreach (var child in children)
            {
                if (LibC.syscall(Sys.kcmp, pid, child, Kcmp.KCMP_VM, 0, 0, 0) == 0)
                    throw new FerryException($"process {child} shares its address space (CLONE_VM) with process {pid}, which ferry cannot checkpoint; the tree was left running untouched");
                pending.Push(child);
            }
        }
    }

    static string? NamespaceOf(string link)
    {
        try
        {
            return new FileInfo(link).LinkTarget;
        }
        catch (IOException)
        {
            return null; // a namespace kind this kernel lacks
        }
    }

    static FerryException Refuse(int pid, string what) =>
        new($"process {pid} {what}; the process was left running untouched");
}
