using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Namespaces;
using Ferry.Resources.Cgroups;
using Ferry.Resources.Ipc;
using Ferry.Restore.Husk;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// `ferry restore`: read and check every image, check every PID is free, start the root's husk, clone the rest of the
/// tree from it (<see cref="HuskTree"/>), rebuild every process, then let the whole tree run. Any failure midway
/// SIGKILLs and reaps what was started: nothing is left behind.
/// </summary>
public sealed class RestoreEngine(RestoreRequest request, Log log)
{
    /// <summary>Restores the tree; it is running when this returns.</summary>
    public RestoredTree Run()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var set = DumpSet.Load(request.ImagesDir);
        RestoreSupport.Check(set);
        bool namespaceInit = set.RootIsNamespaceInit;
        bool ownNamespace = !namespaceInit && (request.PidNamespace == PidNamespaceMode.New || set.RanInOwnPidNamespace);
        if (!ownNamespace && !namespaceInit)
            PidCheck.EnsureFree(set, log);
        log.Info($"images of {set.Tasks.Count} process(es) and {set.Zombies.Count} zombie(s) read from {set.Directory}");
        // Orphans of the tree come to Ferry, as they would have to CRIU; a failed restore reaps its husks that way.
        BecomeSubreaper();

        if (set.Clocks is { } clocks)
            TimeNamespace.EnterForChildren(clocks, log);

        using var tracer = new Tracer();
        var session = ownNamespace ? PidNamespaceSession.Create(newIpcNamespace: set.IpcNamespace is not null) : null;
        try
        {
            // Every ptrace request must come from the tracer thread: running the whole rebuild there saves two thread
            // switches per request (half the context switches and ~40% of the CPU time of a 100-process restore).
            var tree = tracer.Run(() => Rebuild(set, tracer, session, namespaceInit));
            session?.Adopt(set.Root.Pid);
            var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            log.Info($"restored pid {set.Root.Pid}{(session is null ? "" : $" (pid {tree.Processes[0].Leader.Pid} here, in a new pid namespace)")} " +
                $"with {tree.Processes.Sum(p => p.Threads.Count)} task(s) in {ms:F1} ms");
            return new RestoredTree(tree.Processes.Select(p => (p.Images.Pid, p.Leader.Pid)).ToList(), session, session is not null || namespaceInit);
        }
        catch
        {
            session?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds the husk tree, rebuilds every process in it and releases them all; on failure kills it. Each process's
    /// memory is rebuilt while the tree is built, before its children are cloned from it (so they inherit it
    /// copy-on-write); the rest of every process once the whole tree exists.
    /// </summary>
    HuskTree Rebuild(DumpSet set, Tracer tracer, PidNamespaceSession? session, bool namespaceInit)
    {
        var shared = new SharedObjects(set, request.ShellJob, log);
        var fileTables = new HashSet<uint>();
        var restorers = new List<TaskRestorer>();
        var ipc = set.IpcNamespace is { } ipcImages ? new IpcNamespaceRestorer(ipcImages, log) : null;
        using var cgroups = CgroupRestorer.For(set, request.Cgroups, request.CgroupRoots, log);
        HuskTree tree;
        try
        {
            tree = BuildTree(set, tracer, session, namespaceInit, process =>
            {
                // The tree's own IPC namespace (made fresh with the root's husk) gets its objects before any shmat.
                if (restorers.Count == 0)
                    ipc?.Populate(process.Leader.Pid);
                cgroups?.EnterProcess(process.Leader, CgroupRestorer.SetOf(process.Images.Threads[0]),
                    process.MemoryFrom is { } parent ? CgroupRestorer.SetOf(parent.Threads[0]) : cgroups.RootSet);
                var restorer = new TaskRestorer(process, set, shared, fileTables.Add(process.Images.Ids.FilesId), log);
                restorers.Add(restorer);
                restorer.RestoreMemory();
            });
        }
        catch
        {
            shared.Dispose();
            throw;
        }
        try
        {
            using (shared)
            {
                if (cgroups is not null)
                    foreach (var process in tree.Processes)
                        for (var i = 1; i < process.Threads.Count; i++)
                            cgroups.EnterThread(process.Threads[i], CgroupRestorer.SetOf(process.Images.Threads[i]), CgroupRestorer.SetOf(process.Images.Threads[0]));
                foreach (var restorer in restorers)
                    restorer.Rebuild();
            }
            ipc?.Finish(tree.Processes[0].Leader.Pid);
            Resources.Files.RegularFiles.RemoveLinkRemaps(set);
            if (request.PidFile is { } pidFile)
                File.WriteAllText(pidFile, $"{tree.Processes[0].Leader.Pid}\n");
            tree.Release();
            return tree;
        }
        catch
        {
            tree.Kill(tree.Processes[0].Leader);
            throw;
        }
    }

    /// <summary>
    /// EXITKILL: should Ferry die midway (killed, or a crash), the kernel kills every husk still traced instead of
    /// letting a half-built process run; tasks cloned with CLONE_PTRACE inherit the option, Release clears it.
    /// </summary>
    const int HuskOptions = Tracer.DefaultOptions | Ptrace.O_EXITKILL;

    HuskTree BuildTree(DumpSet set, Tracer tracer, PidNamespaceSession? session, bool namespaceInit, Action<HuskProcess> restoreMemory)
    {
        if (session is not null)
            return HuskTree.Build(set, StartNamespacedHusk(session, tracer, set.Root.Pid), innerPids: true, restoreMemory, log);
        using var husks = new HuskLauncher();
        // A dumped IPC namespace is recreated as a fresh one (so is the session's, see PidNamespaceSession.Create).
        ulong ipcFlag = set.IpcNamespace is not null ? CloneFlags.CLONE_NEWIPC : 0;
        if (namespaceInit)
            return HuskTree.Build(set, StartInitHusk(husks, tracer, ipcFlag), innerPids: true, restoreMemory, log);
        return HuskTree.Build(set, StartHusk(husks, tracer, set.Root.Pid, ipcFlag), innerPids: false, restoreMemory, log);
    }

    /// <summary>
    /// The root's husk as PID 1 of a fresh pid namespace, in a fresh mount namespace (a private copy of ours) with a
    /// /proc of the new pid namespace mounted, as the dumped init had (`unshare --pid --fork --mount-proc`).
    /// </summary>
    static TracedTask StartInitHusk(HuskLauncher husks, Tracer tracer, ulong extraFlags)
    {
        int pid;
        try
        {
            pid = husks.StartWithPid([1], HuskImage.CLONE_PARENT | HuskImage.CLONE_NEWPID | CloneFlags.CLONE_NEWNS | extraFlags);
        }
        catch (HuskLaunchException e)
        {
            throw new FerryException($"cannot create the init of a new pid namespace: {e.Message}");
        }
        LibC.kill(pid, Signals.SIGCONT);
        var task = tracer.Seize(pid, HuskOptions);
        try
        {
            using var scratch = task.MapScratch();
            scratch.Write(0, "/\0proc\0/proc\0"u8);
            task.SyscallOrThrow(Sys.mount, 0, scratch.At(0), 0, Mounts.MS_REC | Mounts.MS_PRIVATE, 0);
            task.SyscallOrThrow(Sys.mount, scratch.At(2), scratch.At(7), scratch.At(2), Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC, 0);
            return task;
        }
        catch
        {
            task.Kill();
            throw;
        }
    }

    /// <summary>The root's husk made by the namespace's init with the dumped PID inside, seized like <see cref="StartHusk"/>'s.</summary>
    static TracedTask StartNamespacedHusk(PidNamespaceSession session, Tracer tracer, int innerPid)
    {
        int pid;
        try
        {
            pid = session.StartHusk(innerPid);
        }
        catch (HuskLaunchException e)
        {
            throw new FerryException($"cannot create PID {innerPid} in the new pid namespace: {e.Message}");
        }
        LibC.kill(pid, Signals.SIGCONT);
        return tracer.Seize(pid, HuskOptions);
    }

    /// <summary>
    /// A process that was just killed (by the dump, say) leaves /proc before the kernel frees its PID, so the PID check
    /// can pass while clone3 still finds the PID in use. While nobody visibly holds it, try again for a moment.
    /// </summary>
    static void LaunchWithPid(HuskLauncher husks, int pid, ulong extraFlags)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (true)
        {
            try
            {
                husks.StartWithPid([pid], HuskImage.CLONE_PARENT | extraFlags);
                return;
            }
            catch (HuskLaunchException e) when (e.Errno == Errno.EEXIST && PidCheck.Holder(pid) is null && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>
    /// A husk with the wanted PID, seized and stopped. The husk stops itself with SIGSTOP; it is continued before the
    /// seize so that the task Ferry hands back later is not job-control stopped.
    /// </summary>
    static TracedTask StartHusk(HuskLauncher husks, Tracer tracer, int pid, ulong extraFlags)
    {
        try
        {
            LaunchWithPid(husks, pid, extraFlags);
        }
        catch (HuskLaunchException e) when (e.Errno == Errno.EEXIST)
        {
            throw new FerryException($"PID {pid} was taken while the restore started ({PidCheck.Holder(pid) ?? "now free"}); run the restore again");
        }
        catch (HuskLaunchException e)
        {
            throw new FerryException($"cannot create PID {pid}: {e.Message}");
        }
        try
        {
            LibC.kill(pid, Signals.SIGCONT);
            return tracer.Seize(pid, HuskOptions);
        }
        catch
        {
            LibC.kill(pid, Signals.SIGKILL);
            Reap(pid);
            throw;
        }
    }

    static unsafe void Reap(int pid)
    {
        int status;
        while (LibC.waitpid(pid, &status, Wait.__WALL) < 0 && LinuxException.FromLastError("waitpid").ErrorNumber == Errno.EINTR) { }
    }

    /// <summary>Waits for the restored root (our child) to end; returns its exit code, or 128 + the signal that killed it.</summary>
    public static unsafe int WaitForExit(int pid)
    {
        int status;
        while (LibC.waitpid(pid, &status, Wait.__WALL) < 0)
        {
            var error = LinuxException.FromLastError("waitpid", pid);
            if (error.ErrorNumber != Errno.EINTR) throw error;
        }
        var result = new WaitStatus(status);
        return result.Exited ? result.ExitCode : 128 + result.TermSignal;
    }

    static void BecomeSubreaper()
    {
        if (LibC.prctl(Prctl.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
            throw LinuxException.FromLastError("prctl(PR_SET_CHILD_SUBREAPER)");
    }
}
