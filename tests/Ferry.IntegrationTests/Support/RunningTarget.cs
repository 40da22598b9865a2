using System.Globalization;
using Ferry.Tracing;

namespace Ferry.IntegrationTests.Support;

/// <summary>
/// A test program started with posix_spawn, its stdout in a temporary file. It prints key=value lines and then
/// "ready"; Start waits for that. Dispose kills and reaps it and deletes the file, so no test leaves a process behind.
/// </summary>
public sealed class RunningTarget : IDisposable
{
    readonly string _directory;

    RunningTarget(ChildProcess process, string directory)
    {
        Process = process;
        _directory = directory;
    }

    public ChildProcess Process { get; }
    public int Pid => Process.Pid;
    public string StdoutPath => System.IO.Path.Combine(_directory, "stdout");

    /// <summary>Starts tests/targets/build/<paramref name="name"/> and waits for its "ready" line.</summary>
    public static RunningTarget Start(string name, Stdio? stdin = null, bool newSession = false, params string[] arguments)
    {
        var directory = Directory.CreateTempSubdirectory("ferry-test-").FullName;
        var process = ChildProcess.Start(new SpawnOptions(TestTargets.Path(name), arguments)
        {
            Stdin = stdin ?? Stdio.Null,
            Stdout = Stdio.ToFile(System.IO.Path.Combine(directory, "stdout")),
            Stderr = Stdio.ToFile(System.IO.Path.Combine(directory, "stderr")),
            NewSession = newSession,
        });
        var target = new RunningTarget(process, directory);
        try
        {
            target.WaitForOutput("ready", TimeSpan.FromSeconds(10));
        }
        catch
        {
            target.Dispose();
            throw;
        }
        return target;
    }

    public string Output => File.Exists(StdoutPath) ? File.ReadAllText(StdoutPath) : "";

    /// <summary>The value of a "key=value" line the program printed.</summary>
    public string Value(string key) =>
        Output.Split('\n').FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..]
        ?? throw new KeyNotFoundException($"pid {Pid} printed no {key}= line; output: {Output}");

    /// <summary>A printed pointer ("0x55d0...").</summary>
    public ulong Address(string key) => ulong.Parse(Value(key).AsSpan(2), NumberStyles.HexNumber);

    public void WaitForOutput(string line, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Split('\n').Contains(line))
        {
            if (Process.HasExited) throw new InvalidOperationException($"pid {Pid} {Process.Exit} before printing {line}; output: {Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"pid {Pid} did not print {line} in {timeout}; output: {Output}");
            Thread.Sleep(5);
        }
    }

    /// <summary>Waits until the program is blocked in syscall <paramref name="nr"/> (per /proc/PID/syscall).</summary>
    public void WaitUntilInSyscall(long nr, TimeSpan timeout) => WaitUntilInSyscall([nr], timeout);

    /// <summary>Waits until the program is blocked in one of <paramref name="nrs"/>; returns which.</summary>
    public long WaitUntilInSyscall(IReadOnlyCollection<long> nrs, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var text = File.ReadAllText($"/proc/{Pid}/syscall");
            if (long.TryParse(text.Split(' ')[0], CultureInfo.InvariantCulture, out var nr) && nrs.Contains(nr)) return nr;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"pid {Pid} is not in syscall {string.Join(" or ", nrs)}: /proc/{Pid}/syscall says {text}");
            Thread.Sleep(5);
        }
    }

    public void Dispose()
    {
        Process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
