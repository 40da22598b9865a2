using System.Diagnostics;
using System.Runtime.InteropServices;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// One CRIU-made image set of shared/testdata/criu-4.2: setup.sh recreates its files, the images are copied to a
/// fresh temporary folder (the originals stay pristine), check.sh judges the restored process. Dispose kills what is
/// left of the case's process and removes the copy.
/// </summary>
public sealed class CriuVector : IDisposable
{
    CriuVector(string name, int pid, string images)
    {
        Name = name;
        Pid = pid;
        Images = images;
    }

    public string Name { get; }
    public int Pid { get; }

    /// <summary>The temporary copy of the case's images/ folder.</summary>
    public string Images { get; }

    public string Folder => System.IO.Path.Combine(Root!, Name);

    /// <summary>shared/testdata/criu-4.2 ($FERRY_SHARED, or a shared/ folder above the test binaries), null if absent.</summary>
    public static string? Root { get; } = Locate();

    public const string MissingReason = "the shared/ folder with the CRIU 4.2 test vectors is not beside this clone (set FERRY_SHARED)";

    /// <summary>PIDs as dumped, from each case's README.</summary>
    public static int PidOf(string name) => name switch
    {
        "counter-static" => 30100, "counter-dynamic" => 30200, "threads" => 30300, "pipe-tree" => 30400,
        "signals" => 30500, "unix-socketpair" => 30600, "python-sleeper" => 30700, "tcp-loopback" => 30800,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Recreates the case's files and copies its images; with <paramref name="needPid"/>, waits until its PID is free.</summary>
    public static CriuVector Prepare(string name, bool needPid = true)
    {
        int pid = PidOf(name);
        if (needPid)
            WaitUntilGone(pid);
        var setup = Run(System.IO.Path.Combine(Root!, name, "setup.sh"));
        Assert.True(setup.ExitCode == 0, $"setup.sh of {name} failed: {setup.Output}");
        var copy = Directory.CreateTempSubdirectory($"ferry-restore-{name}-").FullName;
        var images = System.IO.Path.Combine(copy, "images");
        Directory.CreateDirectory(images);
        foreach (var file in Directory.GetFiles(System.IO.Path.Combine(Root!, name, "images")))
        {
            var target = System.IO.Path.Combine(images, System.IO.Path.GetFileName(file));
            File.Copy(file, target);
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return new CriuVector(name, pid, images);
    }

    /// <summary>
    /// Runs check.sh: it signals the restored process, which checks itself and exits. <paramref name="pidHere"/> is
    /// the root's PID as seen from here when it differs from the dumped one (a restore into a new pid namespace).
    /// </summary>
    public (int ExitCode, string Output) Check(int? pidHere = null)
    {
        var result = Run(System.IO.Path.Combine(Folder, "check.sh"), pidHere is { } pid ? [$"{pid}"] : []);
        WaitUntilGone(pidHere ?? Pid);
        return result;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static bool Exists(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>Which process holds the PID now (its start time, field 22 of /proc/PID/stat), or null when it is free.</summary>
    public static string? Incarnation(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the PID is free. This machine's PID 1 reaps orphans slowly, so the test process makes itself a
    /// child subreaper and reaps what comes to it.
    /// </summary>
    public static unsafe void WaitUntilGone(int pid, int seconds = 20)
    {
        BecomeSubreaper();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (Exists(pid))
        {
            int status;
            LibC.waitpid(pid, &status, Wait.WNOHANG | Wait.__WALL);
            if (!Exists(pid)) break;
            Assert.True(DateTime.UtcNow < deadline, $"PID {pid} is still taken after {seconds} s, by {Ferry.Restore.PidCheck.Holder(pid)}");
            Thread.Sleep(50);
        }
    }

    /// <summary>Orphans (restored processes whose ferry exited) come to this test process, which can then reap them.</summary>
    public static void BecomeSubreaper() => LibC.prctl(Prctl.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    public void Dispose()
    {
        if (IsAlive(Pid) && File.ReadAllText($"/proc/{Pid}/cmdline").Contains("/tmp/ferry-vectors/"))
        {
            LibC.kill(Pid, Signals.SIGKILL);
            WaitUntilGone(Pid);
        }
        Directory.Delete(System.IO.Path.GetDirectoryName(Images)!, recursive: true);
    }

    static (int ExitCode, string Output) Run(string script, string[]? args = null)
    {
        // Scripts are never traced, so System.Diagnostics.Process is fine here.
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args ?? [])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in 60 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    static string? Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FERRY_SHARED");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(System.IO.Path.Combine(fromEnv, "testdata", "criu-4.2")))
            return System.IO.Path.Combine(fromEnv, "testdata", "criu-4.2");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "testdata", "criu-4.2");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A fact needing root and the CRIU test vectors; skipped, saying which is missing, otherwise.</summary>
public sealed class CriuVectorFactAttribute : FactAttribute
{
    public CriuVectorFactAttribute()
    {
        if (LibC.geteuid() != 0) Skip = Support.RootFactAttribute.Reason;
        else if (CriuVector.Root is null) Skip = CriuVector.MissingReason;
    }
}

/// <summary>The theory form of <see cref="CriuVectorFactAttribute"/>.</summary>
public sealed class CriuVectorTheoryAttribute : TheoryAttribute
{
    public CriuVectorTheoryAttribute()
    {
        if (LibC.geteuid() != 0) Skip = Support.RootFactAttribute.Reason;
        else if (CriuVector.Root is null) Skip = CriuVector.MissingReason;
    }
}
