using Ferry.Diagnostics;
using Ferry.Procfs;

namespace Ferry.Checkpoint;

/// <summary>
/// What this version cannot checkpoint faithfully, checked once the process is frozen (so it cannot change):
/// rather than writing images that would restore something different, the dump stops with one line.
/// </summary>
internal static class DumpLimits
{
    static readonly string[] Namespaces = ["pid", "mnt", "net", "ipc", "uts", "user", "cgroup"];

    /// <param name="inFerryNamespace">The tree lives in ferry-init's pid and mount namespaces, which a restore
    /// recreates: those two may differ from Ferry's.</param>
    public static void Check(int pid, ProcStatus status, bool inFerryNamespace)
    {
        if (status.Seccomp != 0)
            throw Refuse(pid, "runs under seccomp, which ferry cannot checkpoint yet");
        foreach (var ns in Namespaces)
        {
            if (inFerryNamespace && ns is "pid" or "mnt") continue;
            var theirs = NamespaceOf($"/proc/{pid}/ns/{ns}");
            var ours = NamespaceOf($"/proc/self/ns/{ns}");
            if (theirs is not null && ours is not null && theirs != ours)
                throw Refuse(pid, $"is in another {ns} namespace ({theirs}), which ferry cannot checkpoint yet");
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
