using Ferry.Resources.Files;
using System.Text;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Restore;
using Ferry.Tracing;

namespace Ferry.Resources.Process;

/// <summary>
/// The small per-process properties: cwd, root and umask; personality and process-wide prctl bits; resource limits.
/// Per-thread ones are <see cref="ThreadPropertiesRestorer"/>'s; sessions and groups are set while the tree is built.
/// </summary>
public sealed class TaskPropertiesRestorer(TracedTask task, TaskImages images, DumpSet set, FdTransfer fds, RemoteScratch scratch, Log log)
{
    /// <param name="ghosts">Where a working directory that was removed is made again (and removed once more).</param>
    public void RestoreFs(GhostFiles ghosts)
    {
        var cwdFile = set.Files[images.Fs.CwdId].Reg;
        string cwd = cwdFile.Name;
        string root = set.Files[images.Fs.RootId].Reg.Name;
        if (root != "/")
        {
            WriteString(root);
            task.SyscallOrThrow(Sys.chroot, scratch.At(0));
        }
        using (var local = RegularFiles.Open(set, ghosts, cwdFile, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY, "the working directory"))
        {
            int fd = fds.Take(local.Fd);
            try { task.SyscallOrThrow(Sys.fchdir, fd); }
            finally { fds.CloseRemote(fd); }
        }
        // The husk inherits Ferry's umask, mostly the dumped one: /proc tells it without a remote call.
        if (images.Fs.HasUmask && ProcStatusFile.Read(task.Pid).Umask != images.Fs.Umask)
            task.SyscallOrThrow(Sys.umask, images.Fs.Umask);
        log.Debug($"pid {task.Pid}: cwd {cwd}, root {root}, umask {Convert.ToString(images.Fs.Umask, 8)}");
    }

    public void RestoreIdentity()
    {
        var tc = images.Leader.Tc;
        if (ProcMisc.ReadPersonality(task.Pid) != tc.Personality) // the husk's, Ferry's own: mostly the dumped one
            task.SyscallOrThrow(Sys.personality, tc.Personality);
        if (tc.ChildSubreaper)
            task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_CHILD_SUBREAPER, 1);
        if (tc.HasOomScoreAdj)
            File.WriteAllText($"/proc/{task.Pid}/oom_score_adj", tc.OomScoreAdj.ToString());
        RestoreMembarrierRegistrations(tc.MembarrierRegistrationMask);
    }

    /// <summary>
    /// membarrier registrations belong to the address space: each MEMBARRIER_CMD_REGISTER_* bit of the dumped mask is
    /// issued again (without them the process's expedited barriers fail with EPERM).
    /// </summary>
    void RestoreMembarrierRegistrations(uint mask)
    {
        for (int bit = 0; bit < 32; bit++)
            if ((mask & (1u << bit)) != 0)
                task.SyscallOrThrow(Sys.membarrier, 1L << bit, 0, 0);
        if (mask != 0)
            log.Debug($"pid {task.Pid}: membarrier registrations 0x{mask:x}");
    }

    /// <summary>
    /// prlimit64 per resource the husk does not have already (it inherits Ferry's, mostly the dumped ones: the
    /// husk's are read from here, without a remote call). Raising a hard limit needs CAP_SYS_RESOURCE, which this
    /// machine kind lacks: such a limit stays as the husk has it and the restore goes on with a warning (CRIU does the same).
    /// </summary>
    public void RestoreLimits()
    {
        var limits = images.Leader.Tc.Rlimits?.Rlimits;
        if (limits is null)
            return;
        for (int resource = 0; resource < limits.Count; resource++)
        {
            var wanted = new RLimit { rlim_cur = limits[resource].Cur, rlim_max = limits[resource].Max };
            if (HuskLimit(resource) is { } current && current.rlim_cur == wanted.rlim_cur && current.rlim_max == wanted.rlim_max)
                continue;
            scratch.Write(0, wanted);
            long result = task.Syscall(Sys.prlimit64, 0, resource, scratch.At(0), 0);
            if (result == -Errno.EPERM)
                log.Warn($"pid {task.Pid}: rlimit {resource} {wanted.rlim_cur}/{wanted.rlim_max} needs CAP_SYS_RESOURCE; kept the current limit");
            else if (result < 0)
                throw new FerryException($"rlimit {resource} of pid {task.Pid}: prlimit64 failed with {Errno.Name((int)-result)}");
        }
    }

    /// <summary>The husk's limit, by prlimit64 from here; null when the kernel does not say (a resource it lacks).</summary>
    unsafe RLimit? HuskLimit(int resource)
    {
        RLimit current;
        return LibC.syscall(Sys.prlimit64, task.Pid, resource, 0, (long)&current, 0, 0) == 0 ? current : null;
    }

    void WriteString(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value + "\0");
        if (bytes.Length > scratch.Size)
            throw new FerryException($"a path of {bytes.Length} bytes does not fit Ferry's scratch page: {value[..64]}...");
        scratch.Write(0, bytes);
    }
}
