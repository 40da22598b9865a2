using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Resources.Cgroups;

/// <summary>
/// The cgroups of a tree, as CRIU records them: every distinct combination of a task's cgroups (one per hierarchy) is a
/// numbered set, each thread's core image names its set (thread_core.cg_set), and cgroup.img lists the sets and, per
/// hierarchy, the directories at and below the tree's cgroups, with their owners and modes, so cgroups that are
/// empty come back too. Ferry's own set is set 1 and is named by inventory.root_cg_set: tasks in it are restored into
/// the restoring side's cgroups, and a tree entirely in it writes no cgroup.img.
/// </summary>
internal sealed class CgroupDumper
{
    readonly List<List<CgroupMembership>> _sets = [];
    readonly IReadOnlyList<CgroupRoot> _roots;

    /// <param name="roots">--cgroup-root: per hierarchy, the cgroup whose subtree is recorded instead.</param>
    public CgroupDumper(IReadOnlyList<CgroupRoot> roots)
    {
        _roots = roots;
        OwnSet = SetOf(ProcCgroup.Read(Environment.ProcessId, Environment.ProcessId));
    }

    /// <summary>The set of Ferry itself (inventory.root_cg_set).</summary>
    public uint OwnSet { get; }

    /// <summary>Puts each thread's set in its core image; <paramref name="cores"/> are in the order of <paramref name="threads"/>.</summary>
    public void Assign(IReadOnlyList<TracedTask> threads, IReadOnlyList<(int Tid, core_entry Core)> cores)
    {
        for (var i = 0; i < threads.Count; i++)
            cores[i].Core.ThreadCore.CgSet = SetOf(ProcCgroup.Read(threads[i].Pid, threads[i].Tid));
    }

    uint SetOf(List<CgroupMembership> members)
    {
        var index = _sets.FindIndex(s => s.SequenceEqual(members));
        if (index < 0)
        {
            _sets.Add(members);
            index = _sets.Count - 1;
        }
        return (uint)index + 1;
    }

    public void WriteImage(string directory)
    {
        if (_sets.Count == 1)
            return;
        var image = new cgroup_entry();
        var others = _sets.Select((members, i) => (Id: (uint)i + 1, Members: members)).Where(s => s.Id != OwnSet).ToList();
        foreach (var (id, members) in others)
            image.Sets.Add(new cg_set_entry { Id = id, Ctls = { members.Select(m => new cg_member_entry { Name = m.Controllers, Path = m.Path }) } });
        using var hierarchies = new CgroupHierarchies();
        foreach (var controllers in _sets.SelectMany(s => s).Select(m => m.Controllers).Distinct())
        {
            var cnames = controllers.Split(',');
            var entry = new cg_controller_entry { Cnames = { cnames } };
            // The root of a hierarchy exists wherever it is mounted; below it, the cgroups the tree is in and
            // everything under them (a cgroup nested in another is reached from the outer one).
            var heads = CgroupRoot.For(_roots, cnames) is { } root
                ? [root]
                : others.SelectMany(s => s.Members).Where(m => m.Controllers == controllers && m.Path != "/").Select(m => m.Path).Distinct().ToList();
            foreach (var head in heads.Where(h => !heads.Any(o => h.StartsWith(o + "/", StringComparison.Ordinal))).Order(StringComparer.Ordinal))
            {
                var path = hierarchies.DirectoryOf(controllers, head);
                if (Directory.Exists(path))
                    entry.Dirs.Add(Dir(path, head.TrimStart('/'), cnames));
            }
            entry.IsThreaded = entry.Dirs.Count > 0 && CgroupProperties.IsThreaded(entry.Dirs[0].Properties);
            image.Controllers.Add(entry);
        }
        ImageWriter.WriteFile(Path.Combine(directory, ImageNames.Cgroup), ImageKinds.Cgroup, [image]);
    }

    /// <summary>A cgroup directory and those below it; names are relative to the parent entry, as CRIU writes them.</summary>
    static cgroup_dir_entry Dir(string path, string name, string[] cnames)
    {
        var (mode, uid, gid) = CgroupProperties.FileOwner(path);
        var entry = new cgroup_dir_entry
        {
            DirName = name,
            DirPerms = new cgroup_perms { Mode = mode, Uid = uid, Gid = gid },
            Properties = { CgroupProperties.Read(path, cnames) },
        };
        foreach (var child in Directory.EnumerateDirectories(path).Order(StringComparer.Ordinal))
            entry.Children.Add(Dir(child, Path.GetFileName(child), cnames));
        return entry;
    }
}
