using Ferry.Images.Protos;
using Ferry.Procfs;

namespace Ferry.Resources.TaskState;

/// <summary>
/// A zombie of the tree (exited, not yet reaped by its parent) as CRIU writes one: a pstree entry whose only thread is
/// itself, and a core-PID.img with just the task part: task_state TASK_DEAD and the exit code in wait-status form (what
/// /proc/PID/stat reports: exit status &lt;&lt; 8, or the killing signal), which the restore turns back into an exit()
/// or a kill. It has no ids, mm, fs, fdinfo or pages: its resources are gone.
/// </summary>
internal static class ZombieDumper
{
    const uint TaskDead = 2;

    public static (pstree_entry Pstree, core_entry Core) Dump(int pid)
    {
        var stat = ProcStatFile.Read(pid);
        var pstree = new pstree_entry
        {
            Pid = (uint)pid, Ppid = (uint)stat.PPid, Pgid = (uint)stat.Pgrp, Sid = (uint)stat.Session,
            Threads = { (uint)pid },
        };
        var core = new core_entry
        {
            Mtype = core_entry.Types.march.X8664,
            Tc = new task_core_entry
            {
                TaskState = TaskDead, ExitCode = (uint)stat.ExitCode, Personality = 0, Flags = 0, BlkSigset = 0,
                Comm = stat.Comm,
            },
        };
        return (pstree, core);
    }
}
