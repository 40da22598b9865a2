using System.Diagnostics;
using Ferry.IntegrationTests.Cli;
using Ferry.IntegrationTests.Support;
using Ferry.Namespaces;
using Ferry.Procfs;
using Xunit;

namespace Ferry.IntegrationTests.Run;

/// <summary>`ferry run` (the AOT binary) puts a program in its own pid + mount namespace under ferry-init (needs root).</summary>
public sealed class RunCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("ferry-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RootFerryBinaryFact]
    public void ProgramIsPid2UnderTheInit()
    {
        var result = FerryBinary.Run("run", "--", "sh", "-c", "echo $$ $PPID; cat /proc/1/comm");
        Assert.Equal((0, ""), (result.ExitCode, result.StdErr));
        Assert.Equal($"2 1\n{InitImage.Comm}\n", result.StdOut);
    }

    [RootFerryBinaryFact]
    public void ProcInsideShowsOnlyTheNamespace()
    {
        var result = FerryBinary.Run("run", "--", "sh", "-c", "ls /proc");
        Assert.Equal(0, result.ExitCode);
        var pids = result.StdOut.Split('\n').Where(n => n.Length > 0 && n.All(char.IsAsciiDigit)).Select(int.Parse).Order().ToArray();
        Assert.Equal([1, 2, 3], pids); // the init, sh, ls
    }

    [RootFerryBinaryFact]
    public void ExitStatusPassesThrough()
    {
        Assert.Equal(42, FerryBinary.Run("run", "--", "sh", "-c", "exit 42").ExitCode);
        Assert.Equal(128 + 9, FerryBinary.Run("run", "--", "sh", "-c", "kill -KILL $$").ExitCode);
    }

    [RootFerryBinaryFact]
    public void ArgumentsAfterDoubleDashAreTheProgramsOwn()
    {
        var result = FerryBinary.Run("run", "--", "sh", "-c", "printf '%s|' \"$@\"", "sh", "-v", "-d", "--pidfile");
        Assert.Equal((0, "-v|-d|--pidfile|"), (result.ExitCode, result.StdOut));
    }

    [RootFerryBinaryFact]
    public void MissingProgramIsOneLineError()
    {
        var result = FerryBinary.Run("run", "--", "no-such-program-ferry");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("ferry run: no-such-program-ferry: not found in PATH\n", result.StdErr);
    }

    [RootFerryBinaryFact]
    public void SignalsSentToTheInitReachTheProgram()
    {
        string log = Path.Combine(_dir, "log");
        string pidFile = Path.Combine(_dir, "pid");
        using var ferry = StartFerry("run", "--pidfile", pidFile, "--", "sh", "-c",
            $"trap 'echo USR1 >> {log}' USR1; trap 'echo HUP >> {log}' HUP; trap 'echo TERM >> {log}; exit 3' TERM; "
            + $"echo ready >> {log}; while :; do sleep 0.05; done");
        WaitFor(() => File.Exists(log) && File.ReadAllText(log).Contains("ready"), "the program to start");
        int program = int.Parse(File.ReadAllText(pidFile));
        int init = ProcStatusFile.Read(program).PPid;
        Assert.Equal([program, 2], ProcStatusFile.Read(program).NSpid);
        Assert.Equal([init, 1], ProcStatusFile.Read(init).NSpid);
        Assert.Equal(ferry.Id, ProcStatusFile.Read(init).PPid);
        Assert.True(FerryNamespaces.IsFerryInit(init));
        Assert.Equal(init, FerryNamespaces.FindFerryInit(program));

        Send(init, "USR1");
        WaitFor(() => File.ReadAllText(log).Contains("USR1"), "SIGUSR1 to reach the program");
        Send(init, "HUP");
        WaitFor(() => File.ReadAllText(log).Contains("HUP"), "SIGHUP to reach the program");
        Send(init, "TERM");
        Assert.True(ferry.WaitForExit(TimeSpan.FromSeconds(10)), "ferry run did not end after SIGTERM");
        Assert.Equal(3, ferry.ExitCode);
        Assert.Equal("ready\nUSR1\nHUP\nTERM\n", File.ReadAllText(log));
        Assert.False(Directory.Exists($"/proc/{init}"));
    }

    [RootFerryBinaryFact]
    public void SignalsSentToFerryRunReachTheProgram()
    {
        string log = Path.Combine(_dir, "log");
        using var ferry = StartFerry("run", "--", "sh", "-c",
            $"trap 'echo INT >> {log}; exit 4' INT; echo ready >> {log}; while :; do sleep 0.05; done");
        WaitFor(() => File.Exists(log) && File.ReadAllText(log).Contains("ready"), "the program to start");
        Send(ferry.Id, "INT");
        Assert.True(ferry.WaitForExit(TimeSpan.FromSeconds(10)), "ferry run did not end after SIGINT");
        Assert.Equal(4, ferry.ExitCode);
    }

    [RootFerryBinaryFact]
    public void OrphansAreReapedByTheInit()
    {
        // The inner sh exits at once, so its background sleep is orphaned: it must be reparented to the init
        // (PPid 1 inside) and reaped when it ends, so its /proc entry disappears.
        var result = FerryBinary.Run("run", "--", "sh", "-c",
            "o=$(sh -c 'sleep 0.3 >/dev/null & echo $!'); sleep 0.1; echo ppid=$(awk '/^PPid/{print $2}' /proc/$o/status); "
            + "sleep 0.7; if [ -e /proc/$o ]; then echo left; else echo reaped; fi; "
            + "for s in /proc/[0-9]*/stat; do read -r pid comm state rest < $s; [ \"$state\" = Z ] && echo zombie=$pid; done; true");
        Assert.Equal((0, "ppid=1\nreaped\n"), (result.ExitCode, result.StdOut));
    }

    [RootFerryBinaryFact]
    public void NothingIsLeftBehind()
    {
        int procMountsBefore = HostProcMounts();
        string nsFile = Path.Combine(_dir, "ns");
        string log = Path.Combine(_dir, "log");
        using var ferry = StartFerry("run", "--", "sh", "-c",
            $"readlink /proc/self/ns/pid > {nsFile}; sleep 100 & sleep 100 & (sleep 100 &); echo started > {log}; read x");
        WaitFor(() => File.Exists(log), "the program to start");
        string ns = File.ReadAllText(nsFile).Trim();
        Assert.Equal(5, ProcessesIn(ns).Count); // the init, sh and three sleeps
        Assert.Equal(procMountsBefore, HostProcMounts()); // the namespace's /proc did not propagate here
        ferry.StandardInput.Close(); // sh's read ends: the program exits, the init ends the namespace
        Assert.True(ferry.WaitForExit(TimeSpan.FromSeconds(10)), "ferry run did not end");
        Assert.Equal(1, ferry.ExitCode); // read at EOF fails
        Assert.Empty(ProcessesIn(ns));
        Assert.Equal(procMountsBefore, HostProcMounts());
    }

    [RootFerryBinaryFact]
    public void MountsInsideAreMadePrivate()
    {
        // A shared mount on the host must reach the namespace as a private copy: otherwise mounts made inside
        // (the init's /proc among them) would propagate back.
        string shared = Directory.CreateDirectory(Path.Combine(_dir, "shared")).FullName;
        Sh($"mount -t tmpfs ferry-test {shared} && mount --make-shared {shared}");
        try
        {
            Assert.Contains("shared:", MountLine(File.ReadAllLines("/proc/self/mountinfo"), shared));
            var result = FerryBinary.Run("run", "--", "cat", "/proc/self/mountinfo");
            Assert.Equal(0, result.ExitCode);
            var inside = result.StdOut.Split('\n');
            Assert.DoesNotContain("shared:", MountLine(inside, shared));
            Assert.Contains(inside, l => l.Contains(" /proc ") && l.Contains(" - proc "));
        }
        finally
        {
            Sh($"umount {shared}");
        }
    }

    static string MountLine(IEnumerable<string> mountInfo, string mountPoint) =>
        mountInfo.Single(l => l.Split(' ') is [_, _, _, _, var point, ..] && point == mountPoint);

    static void Sh(string command)
    {
        using var sh = Process.Start("sh", ["-c", command]);
        sh.WaitForExit();
        Assert.Equal(0, sh.ExitCode);
    }

    [RootFerryBinaryFact]
    public void DetachedRunReturnsAtOnceAndPrintsThePids()
    {
        string pidFile = Path.Combine(_dir, "pid");
        var result = FerryBinary.Run("run", "-d", "--pidfile", pidFile, "--", "sh", "-c", "exec >/dev/null 2>&1; sleep 30");
        Assert.Equal(0, result.ExitCode);
        var pids = result.StdOut.Trim().Split(' ').Select(int.Parse).ToArray();
        int program = pids[0], init = pids[1];
        try
        {
            Assert.Equal(program.ToString(), File.ReadAllText(pidFile));
            Assert.Equal([program, 2], ProcStatusFile.Read(program).NSpid);
            Assert.Equal(init, ProcStatusFile.Read(program).PPid);
            Assert.Equal(InitImage.Comm, ProcMisc.ReadComm(init));
        }
        finally
        {
            Send(init, "KILL");
        }
    }

    static FerryRun StartFerry(params string[] args)
    {
        var start = new ProcessStartInfo(FerryBinary.Path!) { RedirectStandardInput = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        return new FerryRun(Process.Start(start)!);
    }

    /// <summary>A `ferry run` in the foreground; Dispose SIGKILLs its init (ending the namespace) if it still runs.</summary>
    sealed class FerryRun(Process ferry) : IDisposable
    {
        public int Id => ferry.Id;
        public int ExitCode => ferry.ExitCode;
        public StreamWriter StandardInput => ferry.StandardInput;
        public bool WaitForExit(TimeSpan timeout) => ferry.WaitForExit(timeout);

        public void Dispose()
        {
            if (!ferry.HasExited)
            {
                foreach (int init in ProcTasks.ReadAllChildren(ferry.Id)) Ferry.Linux.LibC.kill(init, 9);
                ferry.WaitForExit(TimeSpan.FromSeconds(10));
            }
            ferry.Dispose();
        }
    }

    static void Send(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            Thread.Sleep(10);
        }
    }

    static int HostProcMounts() =>
        File.ReadAllLines("/proc/self/mountinfo").Count(l => l.Contains(" - proc "));

    /// <summary>Host PIDs of the live processes whose pid namespace link is <paramref name="ns"/>.</summary>
    static List<int> ProcessesIn(string ns)
    {
        var found = new List<int>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                if (new FileInfo($"{dir}/ns/pid").LinkTarget == ns && ProcStatFile.Read(pid).State != 'Z') found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ProcessNotFoundException) { }
        }
        return found;
    }
}
