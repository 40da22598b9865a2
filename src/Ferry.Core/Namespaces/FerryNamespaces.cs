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
/// <para><b>What the dump does with it</b> (a plan for the dump engine): dump the namespace from its init: every
/// descendant of the init, never the init itself (a restore recreates it). PIDs in pstree.img are the PIDs
/// inside (the last NSpid entry), as CRIU writes virtual PIDs; the main process is the root entry. In CRIU's
/// terms the images describe a pid namespace without its init, which CRIU handles as an external namespace
/// (<c>--external pid[KID]:KEY</c>, "Can't dump a pid namespace without the process init" otherwise): each
/// task's ids (TaskKobjIdsEntry.pid_ns_id) differs from inventory.root_ids.pid_ns_id (the dumper's own
/// namespace), and the root's pid is not 1. That pair is the image-level mark: a restore that sees it recreates
/// the namespace with <see cref="PidNamespaceSession"/> (ferry-init as PID 1, then the root via
/// <see cref="PidNamespaceSession.StartHusk"/> and <see cref="PidNamespaceSession.Adopt"/>) instead of failing on
/// a root without PID 1. Images with pid 1 as root in a new namespace are CRIU's own case (a dumped init).</para>
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
    /// The PID (in our namespace) of the ferry-init of <paramref name="pid"/>'s pid namespace; null when the process
    /// lives in our own namespace. A namespace whose init is not Ferry's gives a one-line error.
    /// </summary>
    public static int? FindFerryInit(int pid)
    {
        if (!IsInOtherPidNamespace(pid)) return null;
        for (int p = pid; p > 0; p = ProcStatusFile.Read(p).PPid)
        {
            var nsPid = ProcStatusFile.Read(p).NSpid;
            if (nsPid.Length < 2 || nsPid[^1] != 1) continue;
            if (IsFerryInit(p)) return p;
            throw new FerryException($"pid {pid} lives in a pid namespace whose init (pid {p}, {ProcMisc.ReadComm(p)}) is not Ferry's: "
                + "dump that init instead, or start the program with 'ferry run'");
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
