using Ferry.Diagnostics;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Checkpoint;

/// <summary>One live process of a frozen tree: its threads (leader first) and its parent in the tree (0 for the root).</summary>
internal sealed record TreeProcess(int Pid, int Ppid, IReadOnlyList<TracedTask> Threads);

/// <summary>A zombie of a frozen tree and its parent.</summary>
internal sealed record TreeZombie(int Pid, int Ppid);

/// <summary>
/// The processes of a frozen tree in CRIU's pstree order: depth first, every parent before its children (the restore
/// creates them in that order), children in the order the kernel lists them. Also checks that the tree is whole:
/// once every task is stopped no process can fork or exit, so each child the kernel lists must have been seized or be
/// a zombie; one that is neither (e.g. traced by someone else) would silently be missing from the images.
/// </summary>
internal sealed class ProcessTree
{
    ProcessTree(List<TreeProcess> processes, List<TreeZombie> zombies, List<int> order)
    {
        Processes = processes;
        Zombies = zombies;
        Order = order;
    }

    /// <summary>Live processes in pstree order; the first is the root.</summary>
    public IReadOnlyList<TreeProcess> Processes { get; }
    public IReadOnlyList<TreeZombie> Zombies { get; }
    /// <summary>Every pid, zombies included, in pstree order.</summary>
    public IReadOnlyList<int> Order { get; }

    public static ProcessTree From(int rootPid, SeizedTree seized)
    {
        var threads = new Dictionary<int, List<TracedTask>>();
        var found = new List<int>(); // in the order seized: parents before children, children in the kernel's order
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
        var zombieSet = seized.Zombies.ToHashSet();

        var parents = new Dictionary<int, int>();
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in found)
        {
            var parent = pid == rootPid ? 0 : ProcStatFile.Read(pid).PPid;
            parents[pid] = parent;
            if (!children.TryGetValue(parent, out var list)) children[parent] = list = new List<int>();
            list.Add(pid);
        }
        foreach (var pid in threads.Keys)
            foreach (var child in ProcTasks.ReadAllChildren(pid))
                if (!parents.ContainsKey(child))
                    throw new FerryException($"process {child}, a child of {pid}, could not be frozen (traced by another process?); the tree was left running untouched");

        var order = new List<int>(found.Count);
        var pending = new Stack<int>([rootPid]);
        while (pending.TryPop(out var pid))
        {
            order.Add(pid);
            if (children.TryGetValue(pid, out var list))
                for (var i = list.Count - 1; i >= 0; i--) pending.Push(list[i]);
        }
        var processes = order.Where(p => !zombieSet.Contains(p)).Select(p => new TreeProcess(p, parents[p], threads[p])).ToList();
        var zombies = order.Where(zombieSet.Contains).Select(p => new TreeZombie(p, parents[p])).ToList();
        return new ProcessTree(processes, zombies, order);
    }
}
