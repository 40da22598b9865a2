using Ferry.Resources.Files;
using System.Text;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Process;

/// <summary>
/// The small per-task properties: cwd, root and umask; session and process group; comm, personality and prctl bits;
/// rseq, robust futex list and clear-child-tid address; resource limits.
/// </summary>
public sealed class TaskPropertiesRestorer(TracedTask task, TaskImages images, DumpSet set, FdTransfer fds, RemoteScratch scratch, Log log)
{
    public void RestoreFs()
    {
        string cwd = set.Files[images.Fs.CwdId].Reg.Name;
        string root = set.Files[images.Fs.RootId].Reg.Name;
        if (root != "/")
        {
            WriteString(root);
            task.SyscallOrThrow(Sys.chroot, scratch.At(0));
        }
        using (var local = HeldFd.Open(cwd, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY, "the working directory"))
        {
            int fd = fds.Take(local.Fd);
            try { task.SyscallOrThrow(Sys.fchdir, fd); }
            finally { fds.CloseRemote(fd); }
        }
        if (images.Fs.HasUmask)
            task.SyscallOrThrow(Sys.umask, images.Fs.Umask);
        log.Debug($"pid {task.Pid}: cwd {cwd}, root {root}, umask {Convert.ToString(images.Fs.Umask, 8)}");
    }

    /// <summary>A dumped session or group leader leads its own again; otherwise the task stays in Ferry's (shell-job style).</summary>
    public void RestoreSession()
    {
        var process = images.Process;
        if (process.Sid == process.Pid)
            task.SyscallOrThrow(Sys.setsid);
        else if (process.Pgid == process.Pid)
            task.SyscallOrThrow(Sys.setpgid, 0, 0);
        else
            log.Warn($"pid {task.Pid}: its session {process.Sid} / group {process.Pgid} were not dumped; it joins Ferry's");
    }

    public void RestoreIdentity()
    {
        var tc = images.Leader.Tc;
        string comm = images.Leader.ThreadCore?.Comm is { Length: > 0 } threadComm ? threadComm : tc.Comm;
        WriteString(comm.Length > 15 ? comm[..15] : comm);
        task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_NAME, scratch.At(0));
        task.SyscallOrThrow(Sys.personality, tc.Personality);
        if (tc.ChildSubreaper)
            task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_CHILD_SUBREAPER, 1);
        if (images.Leader.ThreadCore is { PdeathSig: not 0 } thread)
            task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_PDEATHSIG, thread.PdeathSig);
        if (tc.HasOomScoreAdj)
            File.WriteAllText($"/proc/{task.Pid}/oom_score_adj", tc.OomScoreAdj.ToString());
    }

    /// <summary>rseq, robust list and clear_child_tid: addresses the kernel keeps for the thread and uses on its own.</summary>
    public void RestoreThreadAddresses(core_entry core)
    {
        var thread = core.ThreadCore;
        if (thread?.RseqEntry is { RseqAbiPointer: not 0 } rseq)
            task.SyscallOrThrow(Sys.rseq, (long)rseq.RseqAbiPointer, rseq.RseqAbiSize, 0, rseq.Signature);
        if (thread is { FutexRla: not 0 })
            task.SyscallOrThrow(Sys.set_robust_list, (long)thread.FutexRla, thread.FutexRlaLen);
        if (core.ThreadInfo.ClearTidAddr != 0)
            task.SyscallOrThrow(Sys.set_tid_address, (long)core.ThreadInfo.ClearTidAddr);
    }

    /// <summary>
    /// prlimit64 per resource. Raising a hard limit needs CAP_SYS_RESOURCE, which this machine kind lacks: such a
    /// limit stays as the husk has it and the restore goes on with a warning (CRIU does the same).
    /// </summary>
    public void RestoreLimits()
    {
        var limits = images.Leader.Tc.Rlimits?.Rlimits;
        if (limits is null)
            return;
        for (int resource = 0; resource < limits.Count; resource++)
        {
            var wanted = new RLimit { rlim_cur = limits[resource].Cur, rlim_max = limits[resource].Max };
            scratch.Write(0, wanted);
            long result = task.Syscall(Sys.prlimit64, 0, resource, scratch.At(0), 0);
            if (result == -Errno.EPERM)
                log.Warn($"pid {task.Pid}: rlimit {resource} {wanted.rlim_cur}/{wanted.rlim_max} needs CAP_SYS_RESOURCE; kept the current limit");
            else if (result < 0)
                throw new FerryException($"rlimit {resource} of pid {task.Pid}: prlimit64 failed with {Errno.Name((int)-result)}");
        }
    }

    void WriteString(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value + "\0");
        if (bytes.Length > scratch.Size)
            throw new FerryException($"a path of {bytes.Length} bytes does not fit Ferry's scratch page: {value[..64]}...");
        scratch.Write(0, bytes);
    }
}
