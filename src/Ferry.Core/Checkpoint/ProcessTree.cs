using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Checkpoint;

/// <summary>One live process of a frozen tree: its threads (leader first) and its pstree entry (threads in that order).</summary>
/// <param name="Pid">Its PID in Ferry's pid namespace (for /proc and ptrace).</param>
internal sealed record TreeProcess(int Pid, IReadOnlyList<TracedTask> Threads, pstree_entry Pstree, ProcStatus Status)
{
    /// <summary>Its PID inside its own pid namespace: the one the images are named and written with.</summary>
    public int Vpid => (int)Pstree.Pid;
}

/// <summary>A zombie of a frozen tree and its pstree entry.</summary>
internal sealed record TreeZombie(int Pid, pstree_entry Pstree)
{
    public int Vpid => (int)Pstree.Pid;
}

/// <summary>
/// The processes of a frozen tree in CRIU's pstree order: depth first, every parent before its children (the restore
/// creates them in that order), each process's children in the order the kernel lists them (as CRIU does). PIDs in the entries are those inside the
/// tree's pid namespace (the last NSpid, NSpgid, NSsid), as CRIU writes them; they equal Ferry's own when the tree
/// lives in Ferry's namespace. Also checks that the tree is whole: once every task is stopped no process can fork or
/// exit, so each child the kernel lists must have been seized or be a zombie; one that is neither (e.g. traced by
/// someone else) would silently be missing from the images.
/// </summary>
internal sealed class ProcessTree
{
    ProcessTree(List<TreeProcess> processes, List<TreeZombie> zombies, List<pstree_entry> pstree)
    {
        Processes = processes;
        Zombies = zombies;
        Pstree = pstree;
    }

    /// <summary>Live processes in pstree order; the first is the root.</summary>
    public IReadOnlyList<TreeProcess> Processes { get; }
    public IReadOnlyList<TreeZombie> Zombies { get; }
    /// <summary>pstree.img: every process, zombies included, in order.</summary>
    public IReadOnlyList<pstree_entry> Pstree { get; }

    public static ProcessTree From(int rootPid, SeizedTree seized)
    {
        var threads = new Dictionary<int, List<TracedTask>>();
        var found = new List<int>();
        foreach (var task in seized.Tasks)
        {
            if (!threads.TryGetValue(task.Pid, out var list))
            {
                threads[task.Pid] = list = new List<TracedTask>();
                found.Add(task.Pid);
            }
            list.Add(task);
        }
        found.AddRange(seized.Zombies);

        var statuses = found.ToDictionary(p => p, ProcStatusFile.Read);
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in threads.Keys)
        {
            var list = children[pid] = ProcTasks.ReadAllChildren(pid); // the kernel's order, zombies among the others
            foreach (var child in list)
                if (!statuses.ContainsKey(child))
                    throw new FerryException($"process {child}, a child of {pid}, could not be frozen (traced by another process?); the tree was left running untouched");
        }

        var processes = new List<TreeProcess>(threads.Count);
        var zombies = new List<TreeZombie>(seized.Zombies.Count);
        var pstree = new List<pstree_entry>(found.Count);
        var pending = new Stack<int>([rootPid]);
        while (pending.TryPop(out var pid))
        {
            var status = statuses[pid];
            var entry = new pstree_entry
            {
                Pid = (uint)Inner(pid, status.NSpid, "pid"),
                Ppid = pid == rootPid ? 0 : (uint)Inner(pid, statuses[status.PPid].NSpid, "parent pid"),
                Pgid = (uint)Inner(pid, status.NSpgid, "process group", outsideAllowed: true),
                Sid = (uint)Inner(pid, status.NSsid, "session", outsideAllowed: true),
            };
            pstree.Add(entry);
            if (threads.TryGetValue(pid, out var tasks))
            {
                entry.Threads.Add(tasks.Select(t => t.Tid == pid ? entry.Pid : (uint)InnerTid(pid, t.Tid)));
                processes.Add(new TreeProcess(pid, tasks, entry, status));
            }
            else
            {
                entry.Threads.Add(entry.Pid); // a zombie's only thread is itself
                zombies.Add(new TreeZombie(pid, entry));
            }
            if (children.TryGetValue(pid, out var list))
                for (var i = list.Count - 1; i >= 0; i--) pending.Push(list[i]);
        }
        return new ProcessTree(processes, zombies, pstree);
    }

    /// <summary>
    /// The id as seen inside the task's own pid namespace (the last NS* entry). 0 there means outside it: a process
    /// group or session a `ferry run` program inherited from its caller is written as 0 (the restore puts such
    /// processes in the restoring side's group or session, like CRIU's --shell-job); a PID cannot be outside.
    /// </summary>
    static int Inner(int pid, int[] levels, string what, bool outsideAllowed = false)
    {
        if (levels.Length == 0) throw new FerryException($"process {pid}: /proc/{pid}/status has no NSpid lines");
        var inner = levels[^1];
        if (inner == 0 && !outsideAllowed)
            throw new FerryException($"process {pid}'s {what} is outside its pid namespace, which ferry cannot restore; the tree was left running untouched");
        return inner;
    }

    static int InnerTid(int pid, int tid) => Inner(pid, ProcStatusFile.ReadThread(pid, tid).NSpid, "thread id");
}
