using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>
/// A process that had exited but was not yet reaped by its parent: CRIU writes only its pstree entry and a core
/// holding its comm and its wait status (exit_code as waitpid reports it). Restored, it is a zombie again.
/// </summary>
public sealed record ZombieImages(pstree_entry Process, string Comm, int WaitStatus)
{
    public int Pid => (int)Process.Pid;

    internal static ZombieImages Load(DumpSet.Loader set, pstree_entry process, core_entry core)
    {
        if (process.Threads.Count > 1)
            throw set.Defect("pstree.img", 0, $"a zombie ({process.Pid}) without threads, found {process.Threads.Count}");
        return new ZombieImages(process, core.Tc.Comm, (int)core.Tc.ExitCode);
    }

    public static bool IsZombie(core_entry core) => core.Tc?.TaskState == TaskStates.Dead;
}
