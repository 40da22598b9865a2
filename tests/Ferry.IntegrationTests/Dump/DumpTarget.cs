using System.Globalization;
using Ferry.IntegrationTests.Support;
using Ferry.Tracing;

namespace Ferry.IntegrationTests.Dump;

/// <summary>
/// A test program to dump, started with posix_spawn in its own session inside a fresh work directory (passed as
/// its first argument when asked), plus an images directory for the dump. It prints key=value lines and "ready".
/// Dispose kills and reaps it and removes both directories.
/// </summary>
public sealed class DumpTarget : IDisposable
{
    DumpTarget(ChildProcess process, string root)
    {
        Process = process;
        Root = root;
    }

    public ChildProcess Process { get; }
    public int Pid => Process.Pid;
    public string Root { get; }
    public string WorkDir => Path.Combine(Root, "work");
    public string ImagesDir => Path.Combine(Root, "images");
    string StdoutPath => Path.Combine(Root, "stdout");

    /// <param name="passWorkDir">Give the program its work directory as the first argument.</param>
    public static DumpTarget Start(string name, bool passWorkDir, params string[] arguments) =>
        Launch(TestTargets.Path(name), passWorkDir, arguments);

    /// <summary>Starts any program (e.g. /bin/sh) that prints "ready".</summary>
    public static DumpTarget StartProgram(string path, params string[] arguments) => Launch(path, false, arguments);

    static DumpTarget Launch(string program, bool passWorkDir, string[] arguments)
    {
        var root = Directory.CreateTempSubdirectory("ferry-dump-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "work"));
        Directory.CreateDirectory(Path.Combine(root, "images"));
        string[] args = passWorkDir ? [Path.Combine(root, "work"), .. arguments] : arguments;
        var process = ChildProcess.Start(new SpawnOptions(program, args)
        {
            Stdout = Stdio.ToFile(Path.Combine(root, "stdout")),
            Stderr = Stdio.ToFile(Path.Combine(root, "stderr")),
            NewSession = true,
            WorkingDirectory = Path.Combine(root, "work"),
        });
        var target = new DumpTarget(process, root);
        try
        {
            target.WaitFor(() => target.Output.Split('\n').Contains("ready"), "its ready line");
        }
        catch
        {
            target.Dispose();
            throw;
        }
        return target;
    }

    public string Output => File.Exists(StdoutPath) ? File.ReadAllText(StdoutPath) : "";

    public ulong Address(string key)
    {
        var line = Output.Split('\n').FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))
            ?? throw new KeyNotFoundException($"pid {Pid} printed no {key}= line; output: {Output}");
        return ulong.Parse(line.AsSpan(key.Length + 3), NumberStyles.HexNumber);
    }

    /// <summary>The integer the program printed as KEY=VALUE.</summary>
    public int Value(string key)
    {
        var line = Output.Split('\n').FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))
            ?? throw new KeyNotFoundException($"pid {Pid} printed no {key}= line; output: {Output}");
        return int.Parse(line.AsSpan(key.Length + 1), CultureInfo.InvariantCulture);
    }

    /// <summary>The lines of WORK/ROLE.log, where the test programs count: "N" (or "N OTHER") a line, N from 1.</summary>
    public List<string> LogLines(string role) =>
        File.ReadAllLines(Path.Combine(WorkDir, role + ".log")).Where(l => l.Length > 0).ToList();

    /// <summary>The last count in WORK/ROLE.log (0 before the first).</summary>
    public long LastCount(string role) =>
        LogLines(role).Select(l => long.Parse(l.Split(' ')[0], CultureInfo.InvariantCulture)).LastOrDefault();

    /// <summary>The last "OWN OTHER" line of WORK/ROLE.log: a process's count and the other's as it saw it.</summary>
    public (long Own, long Other) LastPair(string role)
    {
        var last = LogLines(role)[^1].Split(' ');
        return (long.Parse(last[0], CultureInfo.InvariantCulture), long.Parse(last[1], CultureInfo.InvariantCulture));
    }

    /// <summary>WORK/ROLE.log counts 1, 2, 3 ... with no gap or repeat.</summary>
    public void AssertCountsWithoutGap(string role)
    {
        var values = LogLines(role).Select(long.Parse).ToList();
        Xunit.Assert.Equal(Enumerable.Range(1, values.Count).Select(i => (long)i), values);
    }

    /// <summary>Runs `ferry dump -t PID -D images -o dump.log -v4` plus <paramref name="options"/>.</summary>
    public FerryBinary.Result Dump(params string[] options) =>
        FerryBinary.Run(["dump", "-t", Pid.ToString(CultureInfo.InvariantCulture), "-D", ImagesDir, "-o", "dump.log", "-v4", .. options]);

    public string Image(string name) => Path.Combine(ImagesDir, name);

    public string DumpLog => File.Exists(Image("dump.log")) ? File.ReadAllText(Image("dump.log")) : "(no dump.log)";

    /// <summary>The process's state letter and tracer from /proc/PID/status.</summary>
    public (char State, int TracerPid) Status()
    {
        var lines = File.ReadAllLines($"/proc/{Pid}/status");
        var state = lines.First(l => l.StartsWith("State:", StringComparison.Ordinal))[6..].Trim()[0];
        var tracer = int.Parse(lines.First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal))[10..].Trim(), CultureInfo.InvariantCulture);
        return (state, tracer);
    }

    public void WaitFor(Func<bool> condition, string what, double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (Process.HasExited) throw new InvalidOperationException($"pid {Pid} {Process.Exit} while waiting for {what}; output: {Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"pid {Pid}: no {what} after {seconds} s; output: {Output}");
            Thread.Sleep(5);
        }
    }

    public void Dispose()
    {
        Process.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
