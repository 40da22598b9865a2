using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Resources.Cgroups;

/// <summary>
/// Where each cgroup hierarchy is reachable from Ferry: a mount of it in Ferry's mount namespace, or, when it has
/// none (a named v1 hierarchy whose creator unmounted it), a mount of Ferry's own in a temporary directory that
/// disposing removes. A hierarchy is named by its controllers as /proc/PID/cgroup lists them ("" for cgroup v2).
/// </summary>
internal sealed class CgroupHierarchies : IDisposable
{
    readonly List<MountInfoEntry> _mounts = ProcMountInfo.Read(Environment.ProcessId);
    readonly Dictionary<string, (string MountPoint, string Root)> _reached = [];
    readonly List<string> _yards = [];

    /// <summary>The directory of cgroup <paramref name="path"/> ("/a/b") in hierarchy <paramref name="controllers"/>.</summary>
    public string DirectoryOf(string controllers, string path)
    {
        if (!_reached.TryGetValue(controllers, out var mount))
            _reached[controllers] = mount = Find(controllers) ?? MountYard(controllers);
        var relative = mount.Root == "/" ? path : path == mount.Root ? "/" : path.StartsWith(mount.Root + "/", StringComparison.Ordinal)
            ? path[mount.Root.Length..]
            : throw new FerryException($"cgroup {path} of hierarchy '{Describe(controllers)}' lies outside its mount at {mount.MountPoint} (root {mount.Root}); mount the hierarchy's root and retry");
        return mount.MountPoint.TrimEnd('/') + relative.TrimEnd('/');
    }

    public static string Describe(string controllers) => controllers.Length == 0 ? "cgroup2" : controllers;

    (string, string)? Find(string controllers)
    {
        var wanted = controllers.Split(',');
        var candidates = _mounts.Where(m => controllers.Length == 0
            ? m.FsType == "cgroup2"
            : m.FsType == "cgroup" && wanted.All(c => m.SuperOptions.Split(',').Contains(c)));
        return candidates.OrderBy(m => m.Root.Length).Select(m => ((string, string)?)(m.MountPoint, m.Root)).FirstOrDefault();
    }

    (string, string) MountYard(string controllers)
    {
        var yard = Directory.CreateTempSubdirectory("ferry-cgroup-").FullName;
        var options = controllers.Split(',').All(c => c.StartsWith("name=", StringComparison.Ordinal)) ? "none," + controllers : controllers;
        int result = controllers.Length == 0
            ? LibC.mount("cgroup2", yard, "cgroup2", 0, null)
            : LibC.mount("cgroup", yard, "cgroup", 0, options);
        if (result < 0)
        {
            var error = LinuxException.FromLastError("mount");
            Directory.Delete(yard);
            throw new FerryException($"cgroup hierarchy '{Describe(controllers)}' is not mounted here and mounting it failed with {Errno.Name(error.ErrorNumber)}; mount it, or restore with --manage-cgroups=ignore");
        }
        _yards.Add(yard);
        return (yard, "/");
    }

    public void Dispose()
    {
        foreach (var yard in _yards)
        {
            LibC.umount2(yard, Mounts.MNT_DETACH);
            Directory.Delete(yard);
        }
        _yards.Clear();
    }
}
