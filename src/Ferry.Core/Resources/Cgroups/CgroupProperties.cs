using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Cgroups;

/// <summary>
/// The cgroup files whose values (and owners and modes) a dump keeps, per controller, as CRIU's built-in list has
/// them (the order is the order they are set in: memory.limit_in_bytes before memory.memsw.limit_in_bytes), and how
/// each is written back. cgroup.procs and tasks keep only their owner and mode.
/// </summary>
internal static class CgroupProperties
{
    static readonly Dictionary<string, string[]> ByController = new()
    {
        ["cpu"] = ["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.rt_period_us", "cpu.rt_runtime_us"],
        ["memory"] = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness", "memory.soft_limit_in_bytes",
            "memory.move_charge_at_immigrate", "memory.oom_control", "memory.use_hierarchy", "memory.kmem.limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes"],
        ["cpuset"] = ["cpuset.cpus", "cpuset.mems", "cpuset.memory_migrate", "cpuset.cpu_exclusive", "cpuset.mem_exclusive",
            "cpuset.mem_hardwall", "cpuset.memory_spread_page", "cpuset.memory_spread_slab", "cpuset.sched_load_balance",
            "cpuset.sched_relax_domain_level"],
        ["blkio"] = ["blkio.weight"],
        ["net_cls"] = ["net_cls.classid"],
        ["net_prio"] = ["net_prio.ifpriomap"],
        ["pids"] = ["pids.max"],
        ["devices"] = ["devices.list"],
    };

    static readonly string[] GlobalV1 = ["cgroup.clone_children", "notify_on_release", "cgroup.procs", "tasks"];
    static readonly string[] GlobalV2 = ["cgroup.subtree_control", "cgroup.max.descendants", "cgroup.max.depth", "cgroup.freeze", "cgroup.type"];

    /// <summary>The properties of cgroup <paramref name="directory"/> in a hierarchy of <paramref name="cnames"/> ([""] for v2).</summary>
    public static IEnumerable<cgroup_prop_entry> Read(string directory, IReadOnlyList<string> cnames)
    {
        var names = cnames.SelectMany(c => ByController.GetValueOrDefault(c) ?? []).Concat(cnames is [""] ? GlobalV2 : GlobalV1);
        foreach (var name in names)
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path))
                continue; // not on this kernel
            var st = FileOwner(path);
            string value;
            if (name is "cgroup.procs" or "tasks")
                value = "";
            else
            {
                try
                {
                    value = File.ReadAllText(path).Trim();
                }
                catch (IOException)
                {
                    continue; // a file the kernel keeps only for compatibility and no longer reads (memory.kmem.*)
                }
            }
            if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number == long.MaxValue)
                value = "-1"; // "unlimited", written back as such
            if (name == "memory.oom_control")
                value = value.Split('\n')[0].Replace("oom_kill_disable ", "", StringComparison.Ordinal);
            yield return new cgroup_prop_entry { Name = name, Value = value, Perms = new cgroup_perms { Mode = st.Mode, Uid = st.Uid, Gid = st.Gid } };
        }
    }

    /// <summary>Whether a hierarchy is threaded: v1 (it has "tasks"), or v2 with cgroup.type "threaded".</summary>
    public static bool IsThreaded(IEnumerable<cgroup_prop_entry> properties) =>
        properties.Any(p => p.Name == "tasks" || (p.Name == "cgroup.type" && p.Value == "threaded"));

    /// <summary>Sets one property of cgroup <paramref name="directory"/> as it was dumped.</summary>
    public static void Write(string directory, cgroup_prop_entry property)
    {
        var path = Path.Combine(directory, property.Name);
        if (property.Perms is { } perms && property.Name != "devices.list")
            SetOwnerAndMode(path, perms);
        switch (property.Name)
        {
            case "cgroup.procs" or "tasks":
            case "cgroup.type" when property.Value != "threaded":
            case "memory.swappiness" when property.Value == "60": // the default; older kernels refuse writing it
            case "memory.oom_control" when property.Value == "0":
                return;
            case "cgroup.subtree_control":
                foreach (var controller in property.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    Set(path, "+" + controller);
                return;
            case "devices.list":
                // devices.list is read-only: deny everything, then allow each listed rule again.
                Set(Path.Combine(directory, "devices.deny"), "a");
                foreach (var rule in property.Value.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    Set(Path.Combine(directory, "devices.allow"), rule);
                return;
            case "net_prio.ifpriomap":
                // One interface per write; interfaces may differ on this host, and priority 0 is everyone's default.
                foreach (var line in property.Value.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    if (line.Split(' ') is [_, var priority] && priority != "0")
                        TrySet(path, line);
                return;
            case "memory.kmem.limit_in_bytes" or "memory.kmem.tcp.limit_in_bytes":
                TrySet(path, property.Value); // deprecated: newer kernels refuse every write
                return;
            default:
                Set(path, property.Value);
                return;
        }
    }

    static void Set(string path, string value)
    {
        if (!TrySet(path, value, out var error))
            throw new FerryException($"cannot set cgroup property {path} to '{value}': {error}; restore with --manage-cgroups=none to leave properties alone");
    }

    static void TrySet(string path, string value) => TrySet(path, value, out _);

    /// <summary>Writes <paramref name="value"/> to a cgroup file in one write (the kernel takes each write as one value).</summary>
    internal static bool TrySet(string path, string value, out string error)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
            RandomAccess.Write(handle, System.Text.Encoding.UTF8.GetBytes(value), 0);
            error = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>Gives a cgroup directory or file the dumped owner and mode.</summary>
    public static void SetOwnerAndMode(string path, cgroup_perms perms)
    {
        File.SetUnixFileMode(path, (UnixFileMode)(perms.Mode & 0xfff));
        if (FileCalls.chown(path, perms.Uid, perms.Gid) < 0)
            throw new FerryException($"cannot give cgroup {path} to {perms.Uid}:{perms.Gid}: {Errno.Name(LinuxException.FromLastError("chown").ErrorNumber)}");
    }

    /// <summary>Owner and mode of a cgroup directory or file.</summary>
    public static unsafe (uint Mode, uint Uid, uint Gid) FileOwner(string path)
    {
        FileStatus st;
        if (FileCalls.stat(path, &st) < 0) throw LinuxException.FromLastError($"stat {path}");
        return (st.st_mode, st.st_uid, st.st_gid);
    }
}
