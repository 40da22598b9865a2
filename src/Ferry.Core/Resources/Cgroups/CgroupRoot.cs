using Ferry.Diagnostics;

namespace Ferry.Resources.Cgroups;

/// <summary>
/// `--cgroup-root [CONTROLLER:]/PATH` (CRIU's option): at dump, the cgroup whose whole subtree is recorded for that
/// hierarchy (every hierarchy without CONTROLLER); at restore, the cgroup the dumped one is restored as, so a tree
/// can be restored into another container's cgroups.
/// </summary>
/// <param name="Controller">A controller of the hierarchy ("memory", "name=systemd"); null for every hierarchy.</param>
public sealed record CgroupRoot(string? Controller, string Path)
{
    public static CgroupRoot Parse(string option)
    {
        var colon = option.IndexOf(':');
        var (controller, path) = colon < 0 ? (null, option) : (option[..colon], option[(colon + 1)..]);
        if (!path.StartsWith('/') || path.Split('/').Contains("..") || controller is "")
            throw new FerryException($"--cgroup-root '{option}': expected [CONTROLLER:]/PATH with an absolute path and no '..'");
        return new CgroupRoot(controller, path.Length > 1 ? path.TrimEnd('/') : path);
    }

    /// <summary>The root given for a hierarchy of <paramref name="cnames"/>: its controller's, else the global one.</summary>
    public static string? For(IReadOnlyList<CgroupRoot> roots, IEnumerable<string> cnames) =>
        roots.FirstOrDefault(r => r.Controller is not null && cnames.Contains(r.Controller))?.Path
        ?? roots.FirstOrDefault(r => r.Controller is null)?.Path;
}
