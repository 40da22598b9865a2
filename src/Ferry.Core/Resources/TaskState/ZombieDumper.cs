using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Procfs;

namespace Ferry.Resources.TaskState;

/// <summary>
/// The core-PID.img of a zombie of the tree (exited, not yet reaped by its parent) as CRIU writes one (its pstree entry
/// lists itself as its only thread): just the task part, task_state TASK_DEAD and the exit code in wait-status form (what
/// /proc/PID/stat reports: exit status &lt;&lt; 8, or the killing signal), which the restore turns back into an exit()
/// or a kill. It has no ids, mm, fs, fdinfo or pages: its resources are gone.
/// </summary>
internal static class ZombieDumper
{
    public static core_entry Dump(int pid)
    {
        var stat = ProcStatFile.Read(pid);
        return new core_entry
        {
            Mtype = core_entry.Types.march.X8664,
            Tc = new task_core_entry
            {
                TaskState = TaskStates.Dead, ExitCode = (uint)stat.ExitCode, Personality = 0, Flags = 0, BlkSigset = 0,
                Comm = stat.Comm,
            },
        };
    }
}
