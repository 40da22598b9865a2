namespace Ferry.Check;

/// <summary>One kernel feature Ferry relies on, and how to probe it (the probe returns a detail or throws).</summary>
public sealed record Feature(string Name, string Affects, bool Required, Func<string> Probe);

/// <summary>The outcome of one probe.</summary>
public sealed record CheckRow(string Name, bool Ok, bool Required, string Affects, string Detail)
{
    public string Status => Ok ? "OK" : "MISSING";
}

/// <summary>A probe found the feature absent or not working.</summary>
public sealed class FeatureMissingException(string message) : Exception(message);

/// <summary>
/// `ferry check`: probes the running kernel for every feature dump and restore use. Probes that need another process
/// use a spawned helper (`sleep`), never a fork of Ferry, and leave no process, namespace, cgroup or file behind.
/// </summary>
public static class KernelCheck
{
    public static IReadOnlyList<Feature> Features { get; } =
    [
        new("ptrace seize/interrupt + remote syscalls", "dump, restore (freezing tasks, parasite-free syscalls)", true, TracingProbes.PtraceAndRemoteSyscalls),
        new("process_vm_readv/writev", "dump (memory pages), restore (writing state)", true, TracingProbes.ProcessVm),
        new("/proc/PID/mem", "dump/restore of unreadable or read-only pages", true, TracingProbes.ProcPidMem),
        new("pidfd_open/pidfd_getfd", "dump of file descriptors (taking them from the task)", true, TracingProbes.Pidfd),
        new("clone3 with set_tid", "restore with the original PIDs", true, TracingProbes.Clone3SetTid),
        new("clone3 set_tid in a new pid namespace", "restore of a pid namespace (--namespace pid)", false, TracingProbes.Clone3SetTidNewPidNs),
        new("PR_SET_MM_MAP", "restore of the mm layout (brk, arg/env, auxv, exe)", true, TracingProbes.PrSetMmMap),
        new("vDSO/vvar layout", "restore (the vDSO must be moved to its dumped place)", true, TracingProbes.VdsoLayout),
        new("TCP_REPAIR", "dump/restore of established TCP connections (--tcp-established)", false, SystemProbes.TcpRepair),
        new("userfaultfd", "lazy restore (--lazy-pages), dirty tracking", false, MemoryTrackingProbes.Userfaultfd),
        new("PAGEMAP_SCAN + uffd WP_ASYNC", "incremental dumps / pre-dump (dirty page tracking)", false, MemoryTrackingProbes.PageMapScanWpAsync),
        new("soft-dirty", "CRIU-style pre-dump tracking (Ferry uses PAGEMAP_SCAN instead)", false, MemoryTrackingProbes.SoftDirty),
        new("cgroup freezer", "freezing a process tree atomically (--freeze-cgroup)", false, SystemProbes.CgroupFreezer),
        new("netns/veth", "restore into a new network namespace with a veth pair", false, SystemProbes.NetnsVeth),
    ];

    public static IReadOnlyList<CheckRow> Run() => Features.Select(Evaluate).ToList();

    /// <summary>Whether every required feature works.</summary>
    public static bool CanDumpAndRestore(IEnumerable<CheckRow> rows) => rows.All(r => r.Ok || !r.Required);

    public static CheckRow Evaluate(Feature feature)
    {
        try
        {
            return new CheckRow(feature.Name, true, feature.Required, feature.Affects, feature.Probe());
        }
        catch (Exception e)
        {
            return new CheckRow(feature.Name, false, feature.Required, feature.Affects, e.Message);
        }
    }
}
