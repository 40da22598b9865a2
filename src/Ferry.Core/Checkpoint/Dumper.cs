using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;
using Ferry.Resources.Memory;
using Ferry.Resources.TaskState;
using Ferry.Tracing;

namespace Ferry.Checkpoint;

/// <summary>
/// `ferry dump`: freeze a process with ptrace (seize + interrupt every thread), collect its state from /proc,
/// from ptrace and from system calls run inside it, write CRIU 4.x images, then kill it (CRIU's default) or let
/// it run on. A failed dump detaches without changing anything in the process: injected calls restore registers
/// and signal mask, and the scratch page is unmapped before release.
/// </summary>
public static class Dumper
{
    const uint PagesId = 1;

    public static DumpResult Dump(DumpRequest request, Log log)
    {
        try
        {
            return DumpProcess(request, log);
        }
        catch (ProcessNotFoundException)
        {
            throw new FerryException($"process {request.Pid} exited during the dump");
        }
        catch (Exception e) when (e is LinuxException or TracingException or ProcFormatException or InvalidOperationException or InvalidDataException)
        {
            throw new FerryException($"dump of process {request.Pid} failed: {e.Message}", e);
        }
    }

    static DumpResult DumpProcess(DumpRequest request, Log log)
    {
        var clock = Stopwatch.StartNew();
        var pid = request.Pid;
        RequireProcess(pid);
        Directory.CreateDirectory(request.ImagesDir);

        using var tracer = new Tracer();
        var tasks = Freeze(tracer, pid);
        var frozenAt = clock.Elapsed;
        log.Info($"froze process {pid} ({tasks.Count} thread(s)) in {frozenAt.TotalMilliseconds:F2} ms");
        // Everything that touches the task runs on the tracer thread: each ptrace request from elsewhere would
        // cost a hand-off between threads, and a dump makes hundreds of them.
        return tracer.Run(() =>
        {
            var killed = false;
            try
            {
                var files = new FileTable(request.ImagesDir);
                var (process, memory, sharedBytes, memoryTime) = Collect(tasks, files, request.ImagesDir, log);
                files.WriteImages();
                ImageSetWriter.WriteProcess(request.ImagesDir, process);
                ImageSetWriter.WriteTree(request.ImagesDir, [process], process.Ids);
                log.Info($"images written at {clock.Elapsed.TotalMilliseconds:F2} ms");

                if (!request.LeaveRunning)
                {
                    Kill(tasks);
                    killed = true;
                }
                var frozen = clock.Elapsed - frozenAt;
                var result = new DumpResult(clock.Elapsed, frozen, memoryTime, memory.Pages, memory.Bytes) { SharedPagesWritten = (sharedBytes + files.Memfds.BytesWritten) / Environment.SystemPageSize };
                ImageSetWriter.WriteStats(request.ImagesDir, result, frozenAt, memory.Pages);
                return result;
            }
            finally
            {
                if (!killed) Release(tasks, log);
                log.Info($"released process {pid} after {clock.Elapsed.TotalMilliseconds:F2} ms ({(killed ? "killed" : "running")})");
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
    }

    static IReadOnlyList<TracedTask> Freeze(Tracer tracer, int pid)
    {
        try
        {
            return tracer.SeizeProcess(pid);
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

    static (ProcessImages Process, MemoryDumpStats Memory, long SharedBytes, TimeSpan MemoryTime) Collect(
        IReadOnlyList<TracedTask> tasks, FileTable files, string imagesDir, Log log)
    {
        var leader = tasks[0];
        var pid = leader.Pid;
        var stat = ProcStatFile.Read(pid);
        var status = ProcStatusFile.Read(pid);

        DumpLimits.Check(pid, status);

        // Descriptors first: an unsupported kind ends the dump before anything was asked of the task.
        var fds = new FdDumper(pid, files).Dump();
        log.Debug($"process {pid}: {fds.Count} descriptors saved");

        var cores = new List<(int, core_entry)>();
        MmDumper.TaskFacts facts;
        using (var scratch = leader.MapScratch())
        {
            var tc = ProcessCoreDumper.Dump(leader, scratch, stat);
            facts = MmDumper.Ask(leader);
            foreach (var thread in tasks)
            {
                var core = ThreadDumper.Dump(thread, scratch, isLeader: thread == leader);
                if (thread == leader) core.Tc = tc;
                cores.Add((thread.Tid, core));
            }
        }

        log.Debug($"process {pid}: task state of {tasks.Count} thread(s) saved");

        // The scratch page is gone again: the VMAs read now are the task's own.
        var vmas = VmaCollector.Collect(pid, files);
        var mm = MmDumper.Dump(pid, stat, facts, files, vmas);
        log.Debug($"process {pid}: {vmas.Count} VMAs listed");
        var stackPointers = tasks.Select(t => t.GetRegisters().rsp).ToList();
        var memoryClock = Stopwatch.StartNew();
        var memory = MemoryDumper.Dump(pid, vmas, stackPointers, imagesDir, PagesId);
        var sharedBytes = ShmemDumper.Dump(pid, vmas, imagesDir, PagesId + 1);
        var memoryTime = memoryClock.Elapsed;
        log.Info($"process {pid}: {vmas.Count} VMAs, {memory.Pages} pages in {memory.Runs} runs written in {memoryTime.TotalMilliseconds:F2} ms"
            + $" (pagemap scan {memory.Scan.TotalMilliseconds:F2} ms, copying {memory.Read.TotalMilliseconds:F2} ms, waiting for writes {memory.WriteWait.TotalMilliseconds:F2} ms)");

        var ids = new task_kobj_ids_entry
        {
            VmId = 1, FilesId = 1, FsId = 1, SighandId = 1,
            PidNsId = 1, NetNsId = 2, IpcNsId = 3, UtsNsId = 4, TimeNsId = 5, MntNsId = 6, UserNsId = 7, CgroupNsId = 8,
        };
        var process = new ProcessImages
        {
            Pid = pid,
            Pstree = new pstree_entry
            {
                Pid = (uint)pid, Ppid = 0, Pgid = (uint)stat.Pgrp, Sid = (uint)stat.Session,
                Threads = { tasks.Select(t => (uint)t.Tid) },
            },
            Ids = ids,
            Cores = cores,
            Mm = mm,
            Fs = FsDumper.Dump(pid, files, status),
            Fds = fds,
        };
        return (process, memory, sharedBytes, memoryTime);
    }

    /// <summary>
    /// CRIU's default end of a dump: the process is killed once its images are safely written. Ferry does not wait
    /// for the kernel to tear the address space down (a quarter of a second for 2 GiB): the process is already
    /// dead to everyone, and the tracer lets go of it when it is disposed.
    /// </summary>
    static void Kill(IReadOnlyList<TracedTask> tasks)
    {
        if (LibC.kill(tasks[0].Pid, Ferry.Linux.Signals.SIGKILL) < 0)
            throw LinuxException.FromLastError("kill(SIGKILL)", tasks[0].Pid);
    }

    /// <summary>Detaches every thread: each resumes exactly where it was stopped.</summary>
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
