using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Procfs;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Cgroups;

/// <summary>
/// Puts restored tasks back into their cgroups (cgroup.img, and each thread's set in its core image). A process is
/// moved while it is still one thread, before its memory is rebuilt, so the memory is charged to its own cgroups and
/// its children and threads, cloned from it, start there. A task whose set is the one it inherits (its parent's, or
/// for the root the dumping tool's own, inventory.root_cg_set) is not moved: a tree that shared the dumping tool's
/// cgroups lives in the restoring side's. The cgroup directories are prepared once, as the mode says.
/// </summary>
public sealed class CgroupRestorer : IDisposable
{
    readonly cgroup_entry _image;
    readonly uint _rootSet;
    readonly CgroupMode _mode;
    readonly Log _log;
    readonly CgroupHierarchies _hierarchies = new();
    bool _prepared;

    CgroupRestorer(cgroup_entry image, uint rootSet, CgroupMode mode, Log log)
    {
        _image = image;
        _rootSet = rootSet;
        _mode = mode;
        _log = log;
    }

    /// <summary>Null when there is nothing to do: the mode is Ignore, or the images have no cgroup.img.</summary>
    /// <param name="roots">--cgroup-root: the cgroups the dumped ones are restored as.</param>
    public static CgroupRestorer? For(DumpSet set, CgroupMode mode, IReadOnlyList<CgroupRoot> roots, Log log) =>
        mode == CgroupMode.Ignore || set.Cgroups is null ? null : new(Rerooted(set.Cgroups, roots), set.Inventory.RootCgSet, mode, log);

    /// <summary>
    /// The image with each hierarchy's recorded cgroups moved under its --cgroup-root: a recorded top cgroup becomes
    /// the new root, and every set's path in it follows.
    /// </summary>
    static cgroup_entry Rerooted(cgroup_entry image, IReadOnlyList<CgroupRoot> roots)
    {
        if (roots.Count == 0)
            return image;
        var copy = image.Clone();
        foreach (var controller in copy.Controllers)
        {
            if (CgroupRoot.For(roots, controller.Cnames) is not { } root)
                continue;
            var name = string.Join(',', controller.Cnames);
            foreach (var dir in controller.Dirs)
            {
                var old = "/" + dir.DirName.TrimStart('/');
                foreach (var member in copy.Sets.SelectMany(s => s.Ctls).Where(m => m.Name == name))
                    if (member.Path == old || member.Path.StartsWith(old + "/", StringComparison.Ordinal))
                        member.Path = (root.TrimEnd('/') + member.Path[old.Length..]) is { Length: > 0 } path ? path : "/";
                dir.DirName = root.TrimStart('/');
            }
        }
        return copy;
    }

    /// <summary>The set a dumped thread was in (0: none recorded).</summary>
    public static uint SetOf(core_entry thread) => thread.ThreadCore is { HasCgSet: true } core ? core.CgSet : thread.Tc?.CgSet ?? 0;

    /// <summary>The set the root of the tree starts in: the dumping tool's.</summary>
    public uint RootSet => _rootSet;

    /// <summary>Moves a process (one thread now) into the cgroups of <paramref name="set"/> unless it inherited them.</summary>
    public void EnterProcess(TracedTask leader, uint set, uint inherited) => Enter(leader, set, inherited, thread: false);

    /// <summary>Moves one thread into the cgroups of <paramref name="set"/> when they differ from its leader's.</summary>
    public void EnterThread(TracedTask thread, uint set, uint leaders) => Enter(thread, set, leaders, thread: true);

    void Enter(TracedTask task, uint set, uint inherited, bool thread)
    {
        if (set == 0 || set == inherited)
            return;
        Prepare();
        var members = set == _rootSet
            ? ProcCgroup.Read(Environment.ProcessId, Environment.ProcessId).Select(m => (m.Controllers, m.Path))
            : _image.Sets.First(s => s.Id == set).Ctls.Select(m => (Controllers: m.Name, m.Path));
        foreach (var (controllers, path) in members)
        {
            var directory = _hierarchies.DirectoryOf(controllers, path);
            var file = !thread ? "cgroup.procs" : controllers.Length == 0 ? "cgroup.threads" : "tasks";
            if (!CgroupProperties.TrySet(Path.Combine(directory, file), task.Tid.ToString(System.Globalization.CultureInfo.InvariantCulture), out var error))
                throw new FerryException($"cannot move {(thread ? "thread" : "process")} {task.Tid} into cgroup {path} of '{CgroupHierarchies.Describe(controllers)}' ({directory}): {error}; restore with --manage-cgroups=soft to create missing cgroups, or =ignore to leave cgroups alone");
        }
        _log.Debug($"{(thread ? "thread" : "pid")} {task.Tid}: moved into cgroup set {set}");
    }

    /// <summary>Creates the dumped cgroup directories as the mode allows, once, before the first task moves.</summary>
    void Prepare()
    {
        if (_prepared)
            return;
        _prepared = true;
        foreach (var controller in _image.Controllers)
        {
            var controllers = string.Join(',', controller.Cnames);
            foreach (var dir in controller.Dirs)
                PrepareDir(controllers, "/" + dir.DirName.TrimStart('/'), dir);
        }
    }

    void PrepareDir(string controllers, string path, cgroup_dir_entry dir)
    {
        var directory = _hierarchies.DirectoryOf(controllers, path);
        bool created = !Directory.Exists(directory);
        if (created)
        {
            if (_mode is CgroupMode.None or CgroupMode.Props)
                throw new FerryException($"cgroup {path} of '{CgroupHierarchies.Describe(controllers)}' does not exist ({directory}); create it, or restore with --manage-cgroups=soft");
            Directory.CreateDirectory(directory);
            _log.Debug($"created cgroup {directory}");
        }
        else if (_mode == CgroupMode.Strict)
            throw new FerryException($"cgroup {path} of '{CgroupHierarchies.Describe(controllers)}' already exists ({directory}) and --manage-cgroups=strict forbids reusing it");
        // A hierarchy's root cgroup is the host's: its owner, mode and properties are not the tree's to set.
        if (_mode != CgroupMode.None && dir.DirPerms is { } perms && path != "/")
            CgroupProperties.SetOwnerAndMode(directory, perms);
        // Before any task moves in (cpuset.cpus and mems must be set first; limits then hold from the first page).
        if (path != "/" && ((created && _mode != CgroupMode.None) || _mode is CgroupMode.Props or CgroupMode.Full or CgroupMode.Strict))
            foreach (var property in dir.Properties)
                CgroupProperties.Write(directory, property);
        foreach (var child in dir.Children)
            PrepareDir(controllers, path.TrimEnd('/') + "/" + child.DirName.TrimStart('/'), child);
    }

    public void Dispose() => _hierarchies.Dispose();
}
