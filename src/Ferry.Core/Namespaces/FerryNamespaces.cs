using Ferry.Diagnostics;
using Ferry.Procfs;

namespace Ferry.Namespaces;

/// <summary>
/// How a dump recognises a tree that lives in a Ferry-made pid namespace (started by <c>ferry run</c> or restored
/// with <c>--pidns new</c>).
/// <para><b>Detection.</b> A process is in another pid namespace than Ferry when /proc/PID/ns/pid differs from
/// /proc/self/ns/pid; its init is the ancestor whose NSpid ends in 1 (orphans are reparented to it, so the parent
/// chain always reaches it). The namespace is Ferry's when that init's comm is <see cref="InitImage.Comm"/> and its
/// exe link is <see cref="InitImage.ExeLink"/>: a memfd Ferry wrote, which no ordinary program has.</para>
/// <para><b>What the dump does with it</b> (the plan for the dump engine): dump the namespace from its init:
/// every descendant of the init, never the init itself (a restore recreates it). PIDs in pstree.img are the PIDs
/// inside (the last NSpid entry), as CRIU writes virtual PIDs; the main process (the init's first child, inner
/// PID 2 after <c>ferry run</c>) is the root entry, whose ppid is written as 0 like any CRIU root.</para>
/// <para><b>The mark in the images</b> is CRIU's own: each ids-PID.img (TaskKobjIdsEntry) holds the task's
/// pid_ns_id and mnt_ns_id, and inventory.img's root_ids holds the dumper's own (CRIU numbers namespaces 1, 2, …
/// in the order it meets them, so a tree in Ferry's namespace gets ids that differ from root_ids, which stays
/// pid_ns_id 1). A root whose pid_ns_id differs from root_ids.pid_ns_id while its pid is not 1 is "a pid
/// namespace without its init": CRIU refuses to dump that ("Can't dump a pid namespace without the process
/// init") unless told it is external (<c>--external pid[KID]:KEY</c>), and restores it only by joining a given
/// namespace. Ferry's restore reads the same pair as "recreate a Ferry namespace": <see cref="PidNamespaceSession"/>
/// (ferry-init as PID 1 with a fresh mount namespace and /proc), the root via
/// <see cref="PidNamespaceSession.StartHusk"/> with its dumped PID, then <see cref="PidNamespaceSession.Adopt"/>.
/// The mount namespace is ferry-init's (a private copy of the host's plus /proc), so it is recreated, not dumped.
/// A root with pid 1 in its own namespace is CRIU's case of a dumped init and is not Ferry's.</para>
/// </summary>
public static class FerryNamespaces
{
    /// <summary>Whether <paramref name="pid"/> is a ferry-init (comm and exe link).</summary>
    public static bool IsFerryInit(int pid)
    {
        try
        {
            return ProcMisc.ReadComm(pid) == InitImage.Comm && ReadLink($"/proc/{pid}/exe") == InitImage.ExeLink;
        }
        catch (ProcessNotFoundException) { return false; }
    }

    /// <summary>Whether <paramref name="pid"/> lives in another pid namespace than this process.</summary>
    public static bool IsInOtherPidNamespace(int pid) =>
        ReadLink($"/proc/{pid}/ns/pid") != ReadLink("/proc/self/ns/pid");

    /// <summary>
    /// Whether <paramref name="pid"/> is PID 1 of a pid namespace of its own that is not Ferry's (e.g. started with
    /// `unshare --pid --fork --mount-proc`): CRIU's case of a dumped init. The dump takes the whole namespace from it;
    /// the restore makes a fresh pid namespace (and mount namespace with its own /proc) with the root as its init.
    /// </summary>
    public static bool IsInitOfItsOwnNamespace(int pid) =>
        IsInOtherPidNamespace(pid) && ProcStatusFile.Read(pid).NSpid is [_, .., 1] && !IsFerryInit(pid);

    /// <summary>
    /// The PID (in our namespace) of the ferry-init of <paramref name="pid"/>'s pid namespace; null when the process
    /// lives in our own namespace. A namespace whose init is not Ferry's gives a one-line error.
    /// </summary>
    public static int? FindFerryInit(int pid)
    {
        if (!IsInOtherPidNamespace(pid)) return null;
        for (int p = pid; p > 0;)
        {
            var status = ProcStatusFile.Read(p);
            if (status.NSpid is [_, .., 1])
                return IsFerryInit(p) ? p : throw new FerryException(
                    $"pid {pid} lives in a pid namespace whose init (pid {p}, {status.Name}) is not Ferry's: "
                    + "dump that init instead, or start the program with 'ferry run'");
            p = status.PPid;
        }
        throw new FerryException($"pid {pid} lives in another pid namespace, but its init is not among its ancestors");
    }

    static string? ReadLink(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
