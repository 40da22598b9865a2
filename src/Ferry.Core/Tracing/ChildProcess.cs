using System.Runtime.InteropServices;
using Ferry.Linux;

namespace Ferry.Tracing;

/// <summary>Where a child's standard stream goes.</summary>
public abstract record Stdio
{
    Stdio() { }

    /// <summary>Keep the parent's stream.</summary>
    public static readonly Stdio Inherit = new InheritStdio();
    /// <summary>/dev/null.</summary>
    public static readonly Stdio Null = new FileStdio("/dev/null", OpenFlags.O_RDWR);
    /// <summary>Read from an existing file.</summary>
    public static Stdio FromFile(string path) => new FileStdio(path, OpenFlags.O_RDONLY);
    /// <summary>Write to a file, created or truncated.</summary>
    public static Stdio ToFile(string path) => new FileStdio(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC);
    /// <summary>Append to a file, created when missing.</summary>
    public static Stdio AppendToFile(string path) => new FileStdio(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_APPEND);
    /// <summary>A duplicate of one of our file descriptors (e.g. a pipe end).</summary>
    public static Stdio Descriptor(int fd) => new FdStdio(fd);

    internal sealed record InheritStdio : Stdio;
    internal sealed record FileStdio(string Path, int Flags) : Stdio;
    internal sealed record FdStdio(int Fd) : Stdio;
}

/// <summary>What to start: program, argv (without argv[0]), environment and process attributes.</summary>
public sealed record SpawnOptions(string Program, params IReadOnlyList<string> Arguments)
{
    /// <summary>argv[0]; the program path when null.</summary>
    public string? ArgumentZero { get; init; }
    /// <summary>"NAME=value" entries; the current environment when null.</summary>
    public IReadOnlyList<string>? Environment { get; init; }
    public Stdio Stdin { get; init; } = Stdio.Null;
    public Stdio Stdout { get; init; } = Stdio.Null;
    public Stdio Stderr { get; init; } = Stdio.Null;
    /// <summary>Start the child in a new session (setsid), detached from our terminal and process group.</summary>
    public bool NewSession { get; init; }
    public string? WorkingDirectory { get; init; }
    /// <summary>Search PATH for the program (posix_spawnp) instead of using it as a path.</summary>
    public bool SearchPath { get; init; }
    /// <summary>More descriptors for the child: our fd Source becomes its fd Target (dup2, in this order, after stdio).</summary>
    public IReadOnlyList<(int Source, int Target)> Descriptors { get; init; } = [];
}

/// <summary>The exit of a reaped child; Unknown when something else (e.g. the tracer) reaped it.</summary>
public readonly record struct ExitStatus(bool Exited, int Code, int Signal, bool Unknown = false)
{
    public override string ToString() =>
        Unknown ? "reaped elsewhere" : Exited ? $"exit code {Code}" : $"killed by signal {Signal}";
}

/// <summary>
/// A child started with posix_spawn (never System.Diagnostics.Process, whose SIGCHLD reaper would steal ptrace stops).
/// Signal dispositions are reset to default and the signal mask emptied, so the child does not inherit .NET's
/// choices (SIGPIPE ignored). Dispose kills and reaps it if it is still running: tests leave nothing behind.
/// </summary>
public sealed unsafe class ChildProcess : IDisposable
{
    ExitStatus? _exit;

    ChildProcess(int pid) => Pid = pid;

    public int Pid { get; }

    /// <summary>Null while running (or not yet reaped).</summary>
    public ExitStatus? Exit => _exit ?? TryReap(Wait.WNOHANG);

    public bool HasExited => Exit is not null;

    public static ChildProcess Start(SpawnOptions options)
    {
        var actions = NativeMemory.AllocZeroed(LibC.PosixSpawnFileActionsSize);
        var attr = NativeMemory.AllocZeroed(LibC.PosixSpawnAttrSize);
        var sigset = NativeMemory.AllocZeroed(LibC.SigSetSize);
        var argv = CStringArray.Allocate([options.ArgumentZero ?? options.Program, .. options.Arguments]);
        var envp = CStringArray.Allocate(options.Environment ?? CurrentEnvironment());
        try
        {
            Check(LibC.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(LibC.posix_spawnattr_init(attr), "posix_spawnattr_init");
            AddStdio(actions, 0, options.Stdin);
            AddStdio(actions, 1, options.Stdout);
            AddStdio(actions, 2, options.Stderr);
            foreach (var (source, target) in options.Descriptors)
                Check(LibC.posix_spawn_file_actions_adddup2(actions, source, target), "posix_spawn_file_actions_adddup2");
            if (options.WorkingDirectory is { } cwd)
                Check(LibC.posix_spawn_file_actions_addchdir_np(actions, cwd), "posix_spawn_file_actions_addchdir_np");

            var flags = (short)(LibC.POSIX_SPAWN_SETSIGMASK | LibC.POSIX_SPAWN_SETSIGDEF);
            if (options.NewSession) flags |= LibC.POSIX_SPAWN_SETSID;
            Check(LibC.posix_spawnattr_setsigmask(attr, sigset), "posix_spawnattr_setsigmask"); // empty mask
            new Span<byte>(sigset, 8).Fill(0xff); // every signal back to SIG_DFL (SIGKILL/SIGSTOP are skipped by glibc)
            Check(LibC.posix_spawnattr_setsigdefault(attr, sigset), "posix_spawnattr_setsigdefault");
            Check(LibC.posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags");

            int pid;
            var error = options.SearchPath
                ? LibC.posix_spawnp(&pid, options.Program, actions, attr, argv, envp)
                : LibC.posix_spawn(&pid, options.Program, actions, attr, argv, envp);
            if (error != 0) throw new LinuxException($"posix_spawn {options.Program}", 0, error);
            return new ChildProcess(pid);
        }
        finally
        {
            LibC.posix_spawn_file_actions_destroy(actions);
            LibC.posix_spawnattr_destroy(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigset);
            CStringArray.Free(argv);
            CStringArray.Free(envp);
        }
    }

    /// <summary>Waits for the child to exit and reaps it; throws TimeoutException when it runs longer.</summary>
    public ExitStatus WaitForExit(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Exit is { } exit) return exit;
            if (DateTime.UtcNow >= deadline) throw new TimeoutException($"pid {Pid} still runs after {timeout.TotalSeconds:0.#} s");
            Thread.Sleep(5);
        }
    }

    /// <summary>Sends a signal (the child must not have been reaped yet).</summary>
    public void Signal(int signal)
    {
        if (_exit is not null) throw new InvalidOperationException($"pid {Pid} has exited and was reaped");
        if (LibC.kill(Pid, signal) < 0) throw LinuxException.FromLastError($"kill({signal})", Pid);
    }

    /// <summary>SIGKILLs the child (if still running) and reaps it.</summary>
    public ExitStatus Kill()
    {
        if (Exit is { } exit) return exit;
        LibC.kill(Pid, Signals.SIGKILL);
        return TryReap(0) ?? throw new InvalidOperationException($"pid {Pid} could not be reaped");
    }

    public void Dispose() => Kill();

    ExitStatus? TryReap(int options)
    {
        if (_exit is not null) return _exit;
        while (true)
        {
            int status;
            var r = LibC.waitpid(Pid, &status, options);
            if (r == Pid)
            {
                var s = new WaitStatus(status);
                if (s.Exited) return _exit = new ExitStatus(true, s.ExitCode, 0);
                if (s.Signaled) return _exit = new ExitStatus(false, 0, s.TermSignal);
                continue; // not a termination (cannot happen without WUNTRACED); wait on
            }
            if (r == 0) return null;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.ECHILD) return _exit = new ExitStatus(false, 0, 0, Unknown: true);
            throw new LinuxException("waitpid", Pid, errno);
        }
    }

    static void AddStdio(void* actions, int fd, Stdio stdio)
    {
        switch (stdio)
        {
            case Stdio.FileStdio file:
                Check(LibC.posix_spawn_file_actions_addopen(actions, fd, file.Path, file.Flags, 0x1a4 /* 0644 */),
                    "posix_spawn_file_actions_addopen");
                break;
            case Stdio.FdStdio source:
                Check(LibC.posix_spawn_file_actions_adddup2(actions, source.Fd, fd), "posix_spawn_file_actions_adddup2");
                break;
        }
    }

    static void Check(int error, string call)
    {
        if (error != 0) throw new LinuxException(call, 0, error);
    }

    static string[] CurrentEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Select(e => $"{e.Key}={e.Value}").ToArray();
}
