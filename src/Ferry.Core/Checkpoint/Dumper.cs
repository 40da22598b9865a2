using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Namespaces;
using Ferry.Procfs;
using Ferry.Resources.Cgroups;
using Ferry.Resources.Files;
using Ferry.Resources.Ipc;
using Ferry.Resources.Memory;
using Ferry.Resources.TaskState;
using Ferry.Tracing;

namespace Ferry.Checkpoint;

/// <summary>
/// `ferry dump`: freeze a process tree with ptrace (every thread of every process, parents stopped before their
/// children are listed, so the tree cannot grow), collect each process (<see cref="ProcessCollector"/>) and what they
/// share (open file descriptions, pipes, shared anonymous memory), write CRIU 4.x images, then kill every process
/// (CRIU's default), let them all run on or leave them stopped. Everything that can be refused is checked for every process before any
/// of them is asked anything; a failed dump detaches from every task without changing it (injected calls restore
/// registers and signal mask, scratch pages are unmapped before release).
/// </summary>
public static class Dumper
{
    public static DumpResult Dump(DumpRequest request, Log log)
    {
        try
        {
            return DumpTree(request, log);
        }
        catch (ProcessNotFoundException e)
        {
            throw new FerryException(e.Pid == request.Pid
                ? $"process {request.Pid} exited during the dump"
                : $"process {e.Pid} of the tree of {request.Pid} exited during the dump");
        }
        catch (Exception e) when (e is LinuxException or TracingException or ProcFormatException or InvalidOperationException or InvalidDataException)
        {
            throw new FerryException($"dump of process {request.Pid} failed: {e.Message}", e);
        }
    }

    static DumpResult DumpTree(DumpRequest request, Log log)
    {
        var clock = Stopwatch.StartNew();
        RequireProcess(request.Pid);
        bool namespaceInit = FerryNamespaces.IsInitOfItsOwnNamespace(request.Pid);
        var init = namespaceInit ? null : FerryNamespaces.FindFerryInit(request.Pid);
        var pid = init is { } initPid ? MainProcessOf(initPid) : request.Pid;
        if (pid != request.Pid) log.Info($"process {request.Pid} lives in the pid namespace of ferry-init {init}: dumping the namespace's tree from its main process {pid}");
        DumpLimits.CheckBeforeFreeze(pid);
        Directory.CreateDirectory(request.ImagesDir);

        using var tracer = new Tracer();
        var seized = Freeze(tracer, pid, request.FreezeTimeout ?? DumpRequest.DefaultFreezeTimeout);
        var frozenAt = clock.Elapsed;
        log.Info($"froze the tree of {pid} ({seized.Tasks.Select(t => t.Pid).Distinct().Count()} process(es), {seized.Tasks.Count} thread(s), {seized.Zombies.Count} zombie(s)) in {frozenAt.TotalMilliseconds:F2} ms");
        // Everything that touches the tasks runs on the tracer thread: each ptrace request from elsewhere would
        // cost a hand-off between threads, and a dump makes hundreds of them.
        return tracer.Run(() =>
        {
            var killed = false;
            var end = "running";
            FileTable? files = null;
            try
            {
                var tree = ProcessTree.From(pid, seized);
                var ids = new TaskIds();
                var checkedProcesses = tree.Processes.Select(p => ProcessCollector.Check(p, ids, init is not null || namespaceInit)).ToList();
                var ipcNamespace = IpcNamespaceDumper.Check(checkedProcesses, ids.Root);
                Resources.Terminals.TerminalCheck.Refuse(checkedProcesses, request.ShellJob);

                files = new FileTable(request.ImagesDir, request.GhostLimit)
                {
                    SaveLocks = request.FileLocks, LinkRemap = request.LinkRemap,
                    TreePids = tree.Processes.Select(p => p.Pid).Concat(tree.Zombies.Select(z => z.Pid)).ToHashSet(),
                };
                var shmem = new ShmemDumper();
                files.Memfds.DumpedAsSharedMemory = shmem.Has;
                uint nextPagesId = 1;
                var collector = new ProcessCollector(files, shmem, request.ImagesDir, () => nextPagesId++, log) { CowPagesOnce = request.CowPagesOnce };
                long pages = 0, bytes = 0;
                var memoryTime = TimeSpan.Zero;
                var cgroups = new CgroupDumper(request.CgroupRoots);
                foreach (var process in checkedProcesses)
                {
                    var (images, memory) = collector.Collect(process);
                    cgroups.Assign(process.Process.Threads, images.Cores);
                    ImageSetWriter.WriteProcess(request.ImagesDir, images);
                    pages += memory.Pages;
                    bytes += memory.Bytes;
                    memoryTime += memory.Time;
                }
                foreach (var zombie in tree.Zombies)
                    ImageSetWriter.WriteZombie(request.ImagesDir, zombie.Vpid, ZombieDumper.Dump(zombie.Pid));
                var sharedBytes = shmem.WriteImages(request.ImagesDir, () => nextPagesId++);
                if (ipcNamespace is { } ipcId)
                    sharedBytes += IpcNamespaceDumper.WriteImages(pid, ipcId, request.ImagesDir, () => nextPagesId++, log);
                files.WriteImages();
                cgroups.WriteImage(request.ImagesDir);
                ImageSetWriter.WriteTree(request.ImagesDir, tree.Pstree, ids.Root, cgroups.OwnSet);
                log.Info($"images written at {clock.Elapsed.TotalMilliseconds:F2} ms");

                if (request.LeaveStopped)
                {
                    Stop(tree);
                    end = "stopped";
                }
                else if (!request.LeaveRunning)
                {
                    Kill(tree);
                    killed = true;
                    foreach (var task in seized.Tasks) task.Abandon();
                    end = "killed";
                }
                var frozen = clock.Elapsed - frozenAt;
                var result = new DumpResult(clock.Elapsed, frozen, memoryTime, pages, bytes) { SharedPagesWritten = (sharedBytes + files.Memfds.BytesWritten) / Environment.SystemPageSize };
                ImageSetWriter.WriteStats(request.ImagesDir, result, frozenAt, pages);
                return result;
            }
            catch
            {
                // The links made for deleted files serve a restore of this dump only.
                foreach (var link in files?.CreatedLinks ?? [])
                    File.Delete(link);
                throw;
            }
            finally
            {
                if (!killed) files?.Terminals.GiveBackQueuedData();
                files?.Terminals.Dispose();
                if (!killed) Release(seized.Tasks, log);
                log.Info($"released the tree of {pid} after {clock.Elapsed.TotalMilliseconds:F2} ms ({end})");
            }
        });
    }

    static void RequireProcess(int pid)
    {
        ProcStatus status;
        try
        {
            status = ProcStatusFile.Read(pid);
        }
        catch (ProcessNotFoundException)
        {
            throw new FerryException($"process {pid} does not exist");
        }
        if (status.Tgid != pid)
            throw new FerryException($"{pid} is a thread of process {status.Tgid}; dump the process {status.Tgid}");
        if (pid == Environment.ProcessId)
            throw new FerryException("ferry cannot dump itself");
        // The tree would hold Ferry itself, which cannot freeze itself. (/proc/N/stat: the kernel makes it faster than status.)
        for (var ancestor = ProcStatFile.Read(Environment.ProcessId).PPid; ancestor > 1; ancestor = ProcStatFile.Read(ancestor).PPid)
            if (ancestor == pid)
                throw new FerryException($"process {pid} is an ancestor of ferry itself; ferry cannot dump a tree it is part of");
    }

    /// <summary>
    /// The tree of a Ferry-made pid namespace is its init's child and that child's descendants (the init itself is
    /// recreated by a restore, never dumped); orphans the init adopted would make a second tree.
    /// </summary>
    static int MainProcessOf(int init)
    {
        var children = ProcTasks.ReadAllChildren(init);
        return children.Count switch
        {
            1 => children[0],
            0 => throw new FerryException($"the pid namespace of ferry-init {init} has no process left to dump"),
            _ => throw new FerryException($"the pid namespace of ferry-init {init} holds {children.Count} separate trees (processes {string.Join(", ", children)}: orphans were adopted by the init); ferry dumps one tree"),
        };
    }

    static SeizedTree Freeze(Tracer tracer, int pid, TimeSpan timeout)
    {
        try
        {
            return tracer.SeizeTree(pid, stopTimeout: timeout);
        }
        catch (StopTimeoutException e)
        {
            // The tracer's disposal releases every task, the one that would not stop included.
            throw new FerryException($"{e.Message} ({TaskState(e.Pid, e.Tid)}); the tree was left running untouched: "
                + "dump it once that task can stop (thaw its freezer cgroup, let its vfork child exec or exit) or allow longer with --timeout SECONDS");
        }
        catch (LinuxException e) when (e.ErrorNumber == Errno.ESRCH)
        {
            throw new FerryException($"process {pid} does not exist");
        }
        catch (LinuxException e) when (e.ErrorNumber == Errno.EPERM)
        {
            var tracerPid = ProcStatusFile.Read(pid).TracerPid;
            throw new FerryException(tracerPid != 0
                ? $"process {pid} is already traced by process {tracerPid}; ferry cannot freeze it"
                : $"ferry may not trace process {pid} ({e.Message})");
        }
    }

    /// <summary>Where a task sleeps, for the one-line error: "state D (disk sleep) in __refrigerator".</summary>
    static string TaskState(int pid, int tid)
    {
        try
        {
            var state = File.ReadLines($"/proc/{pid}/task/{tid}/status").FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal))?[6..].Trim() ?? "unknown";
            var wchan = File.ReadAllText($"/proc/{pid}/task/{tid}/wchan").Trim();
            return wchan is "" or "0" ? $"state {state}" : $"state {state} in {wchan}";
        }
        catch (IOException)
        {
            return "gone meanwhile";
        }
    }

    /// <summary>
    /// CRIU's default end of a dump: every process of the tree is killed once the images are safely written (zombies
    /// go when their killed parents do). Ferry does not wait for the kernel to tear the address spaces down (a quarter
    /// of a second for 2 GiB): the processes are already dead to everyone, and the tracer lets go of them when it is
    /// disposed.
    /// </summary>
    static void Kill(ProcessTree tree)
    {
        foreach (var process in tree.Processes)
            if (LibC.kill(process.Pid, Ferry.Linux.Signals.SIGKILL) < 0)
            {
                var error = LinuxException.FromLastError("kill(SIGKILL)", process.Pid);
                if (error.ErrorNumber != Errno.ESRCH) throw error; // else already gone with its killed parent (PR_SET_PDEATHSIG)
            }
    }

    /// <summary>
    /// --leave-stopped: a SIGSTOP queued to every process before the detach, so each goes into a group stop as soon as
    /// it is released (SIGCONT lets it go on), as CRIU leaves a tree.
    /// </summary>
    static void Stop(ProcessTree tree)
    {
        foreach (var process in tree.Processes)
            if (LibC.kill(process.Pid, Ferry.Linux.Signals.SIGSTOP) < 0)
                throw LinuxException.FromLastError("kill(SIGSTOP)", process.Pid);
    }

    /// <summary>Detaches every thread of the tree: each resumes exactly where it was stopped.</summary>
    static void Release(IReadOnlyList<TracedTask> tasks, Log log)
    {
        foreach (var task in tasks)
        {
            try
            {
                if (task.IsAttached) task.Detach();
            }
            catch (Exception e) when (e is LinuxException or TracingException or InvalidOperationException)
            {
                log.Warn($"could not detach from {task}: {e.Message}");
            }
        }
    }
}
