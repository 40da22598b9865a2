using Ferry.Diagnostics;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Namespaces;

/// <summary>
/// A program running as PID 2 of its own pid namespace (with its own mount namespace and /proc) under ferry-init
/// (<see cref="InitImage"/>, run mode), which is our child. Start returns with the program held at a gate, so
/// its PIDs are known (and can be written to a pid file) before it runs; <see cref="Proceed"/> lets it exec.
/// Dispose SIGKILLs the init (and with it the whole namespace) unless the program was waited for or detached.
/// </summary>
public sealed class NamespacedProgram : IDisposable
{
    int _gate;
    int? _exitCode;
    bool _detached;

    NamespacedProgram(int initPid, int programPid, int gate)
    {
        InitPid = initPid;
        ProgramPid = programPid;
        _gate = gate;
    }

    /// <summary>The init's PID in our namespace (its PID inside is 1).</summary>
    public int InitPid { get; }
    /// <summary>The program's PID in our namespace (its PID inside is 2).</summary>
    public int ProgramPid { get; }

    /// <summary>Starts the init and the program's process, which waits at the gate.</summary>
    /// <param name="program">A path, or a name looked up in PATH.</param>
    /// <param name="environment">"NAME=value" entries; ours when null.</param>
    public static NamespacedProgram Start(string program, IReadOnlyList<string> arguments, IReadOnlyList<string>? environment = null)
    {
        string path = ResolveProgram(program);
        var (reportRead, reportWrite) = NamespaceNative.HighPipe();
        var (gateRead, gateWrite) = NamespaceNative.HighPipe();
        try
        {
            int init = InitLauncher.Start([path, .. arguments], environment ?? CurrentEnvironment(), nullStdio: false,
                reportRead, reportWrite, gateRead);
            NamespaceNative.Close(ref gateRead);
            var started = new NamespacedProgram(init, FindProgram(init), gateWrite);
            gateWrite = -1;
            return started;
        }
        finally
        {
            NamespaceNative.Close(ref reportRead);
            NamespaceNative.Close(ref reportWrite);
            NamespaceNative.Close(ref gateRead);
            NamespaceNative.Close(ref gateWrite);
        }
    }

    /// <summary>Opens the gate: the program execs.</summary>
    public void Proceed() => NamespaceNative.Close(ref _gate);

    /// <summary>Sends a signal to the init, which passes it on to the program.</summary>
    public void Signal(int signal)
    {
        if (_exitCode is null && LibC.kill(InitPid, signal) < 0) throw LinuxException.FromLastError($"kill({signal})", InitPid);
    }

    /// <summary>Waits for the init (which ends with the program) and returns the program's exit code, or 128 + signal.</summary>
    public int WaitForExit()
    {
        Proceed();
        return _exitCode ??= ExitCodeOf(new WaitStatus(NamespaceNative.WaitFor(InitPid)));
    }

    /// <summary>Leaves the namespace running on its own; Dispose then kills nothing.</summary>
    public void Detach()
    {
        Proceed();
        _detached = true;
    }

    public void Dispose()
    {
        NamespaceNative.Close(ref _gate);
        if (_exitCode is not null || _detached) return;
        LibC.kill(InitPid, Signals.SIGKILL);
        _exitCode = ExitCodeOf(new WaitStatus(NamespaceNative.WaitFor(InitPid)));
    }

    static int ExitCodeOf(WaitStatus status) => status.Exited ? status.ExitCode : 128 + status.TermSignal;

    /// <summary>The init's only child, once it has forked; an error when the init ends first.</summary>
    static int FindProgram(int init)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var children = ProcTasks.ReadChildren(init, init);
            if (children.Count > 0) return children[0];
            int raw = NamespaceNative.WaitFor(init, Wait.__WALL | Wait.WNOHANG);
            if (raw != -1)
            {
                var status = new WaitStatus(raw);
                throw new FerryException(status.Exited && status.ExitCode == InitImage.SetupFailedExitCode
                    ? $"{InitImage.Comm} (pid {init}) could not make its mounts private or mount /proc in its new mount namespace"
                    : $"{InitImage.Comm} (pid {init}) {status} before starting the program");
            }
            if (DateTime.UtcNow > deadline)
            {
                LibC.kill(init, Signals.SIGKILL);
                NamespaceNative.WaitFor(init);
                throw new FerryException($"{InitImage.Comm} (pid {init}) did not start the program within 10 s");
            }
            Thread.Sleep(1);
        }
    }

    /// <summary>The absolute path of the program: as given when it holds a '/', else the first executable match in PATH.</summary>
    public static string ResolveProgram(string program)
    {
        if (program.Contains('/'))
        {
            string full = Path.GetFullPath(program);
            return IsExecutableFile(full) ? full : throw new FerryException($"{program}: no such executable file");
        }
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            if (dir.Length == 0) continue;
            string candidate = Path.Combine(dir, program);
            if (IsExecutableFile(candidate)) return Path.GetFullPath(candidate);
        }
        throw new FerryException($"{program}: not found in PATH");
    }

    static bool IsExecutableFile(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    static string[] CurrentEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToArray();
}
