using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Ferry.Linux;

namespace Ferry.Tracing;

/// <summary>
/// Owns one dedicated OS thread that issues every ptrace request and waitpid: the kernel ties a tracee to the thread
/// that attached it, so requests from any other thread fail with ESRCH. Every method may be called from any thread;
/// work is queued to the tracer thread (or run inline when already on it).
/// </summary>
public sealed class Tracer : IDisposable
{
    /// <summary>Options for PTRACE_SEIZE: TRACESYSGOOD tells syscall stops from SIGTRAPs.</summary>
    public const int DefaultOptions = Ptrace.O_TRACESYSGOOD;

    readonly BlockingCollection<Action> _work = new();
    readonly Thread _thread;
    readonly Dictionary<int, TracedTask> _tasks = new(); // touched only on the tracer thread
    bool _disposed;

    public Tracer()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "ferry-tracer" };
        _thread.Start();
    }

    public bool IsTracerThread => Thread.CurrentThread == _thread;

    /// <summary>Runs work on the tracer thread and returns its result; its exception is rethrown here.</summary>
    public T Run<T>(Func<T> work)
    {
        if (IsTracerThread) return work();
        ObjectDisposedException.ThrowIf(_disposed, this);
        T result = default!;
        ExceptionDispatchInfo? error = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try { result = work(); }
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
            finally { done.Set(); }
        });
        done.Wait();
        error?.Throw();
        return result;
    }

    public void Run(Action work) => Run(() => { work(); return 0; });

    /// <summary>Tasks seized and not yet detached or killed.</summary>
    public IReadOnlyList<TracedTask> Tasks => Run(() => _tasks.Values.ToList());

    /// <summary>
    /// PTRACE_SEIZE one thread, PTRACE_INTERRUPT it, and wait for its PTRACE_EVENT_STOP. When the thread has seccomp
    /// on, PTRACE_O_SUSPEND_SECCOMP is added (unless <paramref name="suspendSeccomp"/> is false) so its filters do not
    /// judge the syscalls Ferry injects; that option needs CAP_SYS_ADMIN. With <paramref name="waitForStop"/> false
    /// the interrupt is sent but not waited for: a task in a frozen cgroup stops only once thawed, so seize every
    /// task, thaw, then call Interrupt on each to wait for its stop.
    /// </summary>
    public TracedTask Seize(int tid, int options = DefaultOptions, bool suspendSeccomp = true, bool waitForStop = true) => Run(() =>
    {
        if (_tasks.TryGetValue(tid, out var known)) return known;
        var status = ReadStatus(tid);
        if (suspendSeccomp && status.Seccomp) options |= Ptrace.O_SUSPEND_SECCOMP;
        PtraceCall(Ptrace.SEIZE, tid, 0, options, "PTRACE_SEIZE");
        var task = new TracedTask(this, tid, status.Tgid);
        _tasks[tid] = task;
        try
        {
            task.SendInterrupt();
            if (waitForStop) task.Interrupt();
        }
        catch
        {
            _tasks.Remove(tid);
            throw;
        }
        return task;
    });

    /// <summary>
    /// Takes over a task that became traced without a seize: a thread or process created by a remote clone/clone3 with
    /// CLONE_PTRACE in a seized task. Waits for its first stop, which comes before it runs any instruction. A caller
    /// that knows the task's <paramref name="tgid"/> (it cloned a thread or a process) saves reading /proc/TID/status.
    /// </summary>
    public TracedTask Adopt(int tid, int? tgid = null) => Run(() =>
    {
        if (_tasks.TryGetValue(tid, out var known)) return known;
        var task = new TracedTask(this, tid, tgid ?? ReadStatus(tid).Tgid);
        _tasks[tid] = task;
        try
        {
            task.WaitForEventStop();
        }
        catch
        {
            _tasks.Remove(tid);
            throw;
        }
        return task;
    });

    /// <summary>
    /// Seizes every thread of a process, re-reading /proc/PID/task until no new thread shows up (threads may be
    /// created while earlier ones are being stopped; once all listed are stopped none can be). The thread-group leader
    /// comes first. Each round interrupts every new thread before waiting for any, so they stop side by side. With a
    /// <paramref name="stopTimeout"/>, a thread that has not stopped in time throws <see cref="StopTimeoutException"/>.
    /// </summary>
    public IReadOnlyList<TracedTask> SeizeProcess(int pid, int options = DefaultOptions, TimeSpan? stopTimeout = null) =>
        Run(() => SeizeProcess(pid, options, StopDeadline.After(stopTimeout)));

    IReadOnlyList<TracedTask> SeizeProcess(int pid, int options, StopDeadline deadline)
    {
        var seized = new List<TracedTask>();
        var seen = new HashSet<int> { pid };
        var fresh = new List<TracedTask> { Seize(pid, options, waitForStop: false) };
        while (fresh.Count > 0)
        {
            foreach (var task in fresh)
            {
                try
                {
                    task.WaitForInterruptStop(deadline);
                    seized.Add(task);
                }
                catch (TracingException) when (task.Tid != pid)
                {
                    // The thread exited while being stopped.
                }
            }
            fresh.Clear();
            foreach (var tid in ThreadIds(pid))
            {
                if (!seen.Add(tid)) continue;
                try
                {
                    fresh.Add(Seize(tid, options, waitForStop: false));
                }
                catch (LinuxException e) when (e.ErrorNumber == Errno.ESRCH)
                {
                    // The thread exited between listing and seizing.
                }
            }
        }
        return seized;
    }

    /// <summary>
    /// Seizes a whole process tree: every thread of <paramref name="rootPid"/>, then of each child process (read from
    /// /proc/PID/task/TID/children once its parent's threads are all stopped, so the set cannot grow), and so on.
    /// Zombies cannot be seized; their PIDs are listed apart. Children that vanish meanwhile are skipped. With a
    /// <paramref name="stopTimeout"/> (for the whole tree), a task not stopped in time throws <see cref="StopTimeoutException"/>.
    /// </summary>
    public SeizedTree SeizeTree(int rootPid, int options = DefaultOptions, TimeSpan? stopTimeout = null) => Run(() =>
    {
        var deadline = StopDeadline.After(stopTimeout);
        var tasks = new List<TracedTask>();
        var zombies = new List<int>();
        var pending = new Queue<int>([rootPid]);
        var seen = new HashSet<int>();
        while (pending.TryDequeue(out var pid))
        {
            if (!seen.Add(pid)) continue;
            if (pid != rootPid && IsZombie(pid))
            {
                zombies.Add(pid);
                continue;
            }
            IReadOnlyList<TracedTask> threads;
            try
            {
                threads = SeizeProcess(pid, options, deadline);
            }
            catch (Exception e) when (pid != rootPid && e is LinuxException or TracingException)
            {
                if (IsZombie(pid)) zombies.Add(pid); // it exited between the check and the seize
                continue;
            }
            tasks.AddRange(threads);
            foreach (var thread in threads)
                foreach (var child in ChildPids(pid, thread.Tid))
                    pending.Enqueue(child);
        }
        return new SeizedTree(tasks, zombies);
    });

    static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false; // reaped: gone entirely
        }
    }

    static IEnumerable<int> ChildPids(int pid, int tid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/task/{tid}/children");
        }
        catch (IOException)
        {
            return [];
        }
        return text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse);
    }

    static IEnumerable<int> ThreadIds(int pid) =>
        Directory.EnumerateDirectories($"/proc/{pid}/task").Select(d => int.Parse(Path.GetFileName(d))).Order();

    /// <summary>The thread group id and whether seccomp is on, from /proc/TID/status (the thread id itself when unreadable).</summary>
    static (int Tgid, bool Seccomp) ReadStatus(int tid)
    {
        var tgid = tid;
        var seccomp = false;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{tid}/status"))
            {
                if (line.StartsWith("Tgid:", StringComparison.Ordinal)) tgid = int.Parse(line.AsSpan(5).Trim());
                else if (line.StartsWith("Seccomp:", StringComparison.Ordinal)) seccomp = line.AsSpan(8).Trim() is not "0";
            }
        }
        catch (IOException)
        {
            // Gone or hidden: PTRACE_SEIZE will say which.
        }
        return (tgid, seccomp);
    }

    internal void Forget(TracedTask task) => _tasks.Remove(task.Tid);

    /// <summary>ptrace on the tracer thread; failures throw LinuxException naming the request.</summary>
    internal static long PtraceCall(int request, int tid, nint addr, nint data, string name)
    {
        var r = LibC.ptrace(request, tid, addr, data);
        if (r == -1)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != 0) throw new LinuxException($"ptrace({name})", tid, errno);
        }
        return r;
    }

    /// <summary>
    /// waitpid(tid, __WALL | WNOHANG) until it reports a change or the deadline passes (null then). An interrupt stop
    /// usually comes within microseconds, so the CPU is given away at first and slept on a millisecond at a time after.
    /// </summary>
    internal static unsafe WaitStatus? WaitFor(int tid, StopDeadline deadline)
    {
        if (deadline.IsNone) return WaitFor(tid);
        for (var polls = 0; ; polls++)
        {
            int status;
            var reported = LibC.waitpid(tid, &status, Wait.__WALL | Wait.WNOHANG);
            if (reported > 0) return new WaitStatus(status);
            if (reported < 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new LinuxException("waitpid", tid, errno);
            }
            if (deadline.HasPassed) return null;
            if (polls < 200) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    /// <summary>waitpid(tid, __WALL), retrying on EINTR.</summary>
    internal static unsafe WaitStatus WaitFor(int tid)
    {
        int status;
        while (LibC.waitpid(tid, &status, Wait.__WALL) < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException("waitpid", tid, errno);
        }
        return new WaitStatus(status);
    }

    /// <summary>
    /// Detaches every task still seized (stopping running ones first), then ends the thread, which releases abandoned
    /// tasks too.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (IsTracerThread) throw new InvalidOperationException("a Tracer cannot be disposed from work running on its own thread");
        Run(() =>
        {
            foreach (var task in _tasks.Values.ToList())
            {
                try
                {
                    task.Detach();
                }
                catch (Exception e) when (e is LinuxException or TracingException)
                {
                    // Gone already: nothing left to release.
                    _tasks.Remove(task.Tid);
                }
            }
        });
        _disposed = true;
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }

    void Loop()
    {
        foreach (var item in _work.GetConsumingEnumerable()) item();
    }
}

/// <summary>When waiting for an interrupt stop gives up: a Stopwatch timestamp, or none (wait for ever).</summary>
internal readonly record struct StopDeadline(long Timestamp, TimeSpan Timeout)
{
    public static StopDeadline None => new(long.MaxValue, System.Threading.Timeout.InfiniteTimeSpan);

    public static StopDeadline After(TimeSpan? timeout) => timeout is { } t
        ? new(System.Diagnostics.Stopwatch.GetTimestamp() + (long)(t.TotalSeconds * System.Diagnostics.Stopwatch.Frequency), t)
        : None;

    public bool IsNone => Timestamp == long.MaxValue;
    public bool HasPassed => System.Diagnostics.Stopwatch.GetTimestamp() >= Timestamp;
}

/// <summary>The result of Tracer.SeizeTree: every seized thread (the root's leader first) and the zombies found.</summary>
public sealed record SeizedTree(IReadOnlyList<TracedTask> Tasks, IReadOnlyList<int> Zombies);
