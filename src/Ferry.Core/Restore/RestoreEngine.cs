using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Restore.Husk;
using Ferry.Tracing;

namespace Ferry.Restore;

/// <summary>
/// `ferry restore`: read and check every image, check every PID is free, start a husk per process and rebuild it,
/// then let the tree run. Any failure midway SIGKILLs and reaps what was started: nothing is left behind.
/// </summary>
public sealed class RestoreEngine(RestoreRequest request, Log log)
{
    /// <summary>Restores the tree and returns the root's PID; the tree is running when this returns.</summary>
    public int Run()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var set = DumpSet.Load(request.ImagesDir);
        RestoreSupport.Check(set);
        PidCheck.EnsureFree(set);
        log.Info($"images of {set.Tasks.Count} process(es) read from {set.Directory}");
        if (!request.Detach)
            BecomeSubreaper();

        if (set.Clocks is { } clocks)
            TimeNamespace.EnterForChildren(clocks, log);

        using var tracer = new Tracer();
        using var husks = new HuskLauncher();
        using var memfds = Resources.Memfd.MemfdInodes.For(set);
        using var ghosts = Resources.Files.GhostFiles.For(set);
        var task = StartHusk(husks, tracer, set.Root.Pid);
        try
        {
            new TaskRestorer(task, set.Root, set, log).Rebuild();
            if (request.PidFile is { } pidFile)
                File.WriteAllText(pidFile, $"{set.Root.Pid}\n");
            task.Detach();
        }
        catch
        {
            if (task.IsAttached)
                task.Kill();
            throw;
        }
        var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        log.Info($"restored pid {set.Root.Pid} in {ms:F1} ms");
        return set.Root.Pid;
    }

    /// <summary>
    /// A process that was just killed (by the dump, say) leaves /proc before the kernel frees its PID, so the PID check
    /// can pass while clone3 still finds the PID in use. While nobody visibly holds it, try again for a moment.
    /// </summary>
    static void LaunchWithPid(HuskLauncher husks, int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (true)
        {
            try
            {
                husks.StartWithPid([pid]);
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
    static TracedTask StartHusk(HuskLauncher husks, Tracer tracer, int pid)
    {
        try
        {
            LaunchWithPid(husks, pid);
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
            return tracer.Seize(pid);
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

    /// <summary>Orphans of the restored tree come to Ferry, as they would have to CRIU.</summary>
    static void BecomeSubreaper()
    {
        if (LibC.prctl(Prctl.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
            throw LinuxException.FromLastError("prctl(PR_SET_CHILD_SUBREAPER)");
    }
}
