using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ferry.IntegrationTests.Targets;

/// <summary>
/// One running test target from tests/targets (protocol in tests/targets/target_common.h): started with
/// posix_spawn (so it may be ptraced later), in its own temporary directory; <see cref="Ready"/> holds the
/// key=value lines of OUT.ready once it is set up.
/// </summary>
public sealed unsafe partial class TargetProcess : IDisposable
{
    public const int SIGKILL = 9, SIGUSR1 = 10, SIGUSR2 = 12, SIGTERM = 15;

    public int Pid { get; }
    public string Directory { get; }
    /// <summary>The result file (argv[1]).</summary>
    public string OutPath { get; }
    public IReadOnlyDictionary<string, string> Ready { get; }
    int? _exitStatus;

    TargetProcess(string name, string[] args)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"ferry-{name}-").FullName;
        OutPath = Path.Combine(Directory, "out");
        string binary = Path.Combine(BuildDirectory.Value, name);
        Pid = Spawn(binary, [binary, OutPath, .. args.Select(a => a.Replace("{dir}", Directory))]);
        Ready = WaitForReady();
    }

    /// <summary>
    /// Builds the targets (once per test run) and starts <paramref name="name"/> with OUT and <paramref name="args"/>;
    /// "{dir}" in an argument becomes the target's temporary directory.
    /// </summary>
    public static TargetProcess Start(string name, params string[] args) => new(name, args);

    static readonly Lazy<string> BuildDirectory = new(() =>
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "tests", "targets", "Makefile")))
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("tests/targets/Makefile not found above the test binary");
        string targets = Path.Combine(dir, "tests", "targets");
        var make = Process.Start(new ProcessStartInfo("make", ["-s", "-C", targets]) { RedirectStandardError = true })!;
        string errors = make.StandardError.ReadToEnd();
        make.WaitForExit();
        if (make.ExitCode != 0) throw new InvalidOperationException($"make -C {targets} failed: {errors}");
        return Path.Combine(targets, "build");
    });

    Dictionary<string, string> WaitForReady()
    {
        string path = OutPath + ".ready";
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(path))
        {
            if (HasExited) throw new InvalidOperationException($"target {Pid} exited (status 0x{_exitStatus:x}) before it was ready");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"target {Pid} not ready within 20 s");
            Thread.Sleep(2);
        }
        return ParseLines(File.ReadAllText(path)).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
    }

    /// <summary>All key=value pairs reported so far, in order ("a=1 b=2" lines give two pairs).</summary>
    public List<KeyValuePair<string, string>> Results() =>
        File.Exists(OutPath) ? ParseLines(File.ReadAllText(OutPath)) : [];

    /// <summary>The latest value reported for <paramref name="key"/>, or null.</summary>
    public string? Result(string key) => Results().LastOrDefault(p => p.Key == key).Value;

    /// <summary>Waits until <paramref name="key"/> has been reported <paramref name="count"/> times; returns the latest value.</summary>
    public string WaitForResult(string key, int count = 1, int timeoutMs = 20000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var values = Results().Where(p => p.Key == key).ToList();
            if (values.Count >= count) return values[^1].Value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"target {Pid} did not report '{key}' {count}x in {timeoutMs} ms");
            Thread.Sleep(2);
        }
    }

    static List<KeyValuePair<string, string>> ParseLines(string text)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // Values never contain spaces except data=… lines, which hold one pair each.
            string[] fields = line.StartsWith("data=") || line.StartsWith("read=") ? [line] : line.Split(' ');
            foreach (string field in fields)
            {
                int eq = field.IndexOf('=');
                if (eq > 0) pairs.Add(new(field[..eq], field[(eq + 1)..]));
            }
        }
        return pairs;
    }

    public void Signal(int signal)
    {
        if (kill(Pid, signal) != 0) throw new InvalidOperationException($"kill({Pid}, {signal}) failed");
    }

    public bool HasExited
    {
        get
        {
            if (_exitStatus is not null) return true;
            int status;
            if (waitpid(Pid, &status, 1 /* WNOHANG */ | 0x40000000) == Pid) _exitStatus = status;
            return _exitStatus is not null;
        }
    }

    /// <summary>Waits for the target to exit; returns its exit code (or 128+signal).</summary>
    public int WaitForExit(int timeoutMs = 20000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!HasExited)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"target {Pid} did not exit within {timeoutMs} ms");
            Thread.Sleep(2);
        }
        int s = _exitStatus!.Value;
        return (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
    }

    /// <summary>Sends SIGTERM (final report) and returns the exit code.</summary>
    public int Stop()
    {
        Signal(SIGTERM);
        return WaitForExit();
    }

    public void Dispose()
    {
        if (!HasExited)
        {
            kill(Pid, SIGKILL);
            WaitForExit();
        }
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    static int Spawn(string path, string[] argv)
    {
        var allocated = argv.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            nint[] args = [.. allocated, 0];
            nint[] env = [0];
            int pid;
            fixed (nint* a = args, e = env)
            {
                int rc = posix_spawn(&pid, path, 0, 0, a, e);
                if (rc != 0) throw new InvalidOperationException($"posix_spawn({path}) failed: errno {rc}");
            }
            return pid;
        }
        finally { Array.ForEach(allocated, Marshal.FreeCoTaskMem); }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn(int* pid, string path, nint fileActions, nint attributes, nint* argv, nint* envp);

    [LibraryImport("libc")]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int kill(int pid, int signal);
}
