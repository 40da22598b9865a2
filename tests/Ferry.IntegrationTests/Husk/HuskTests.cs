using System.Runtime.InteropServices;
using Ferry.Procfs;
using Ferry.Restore.Husk;
using Xunit;

namespace Ferry.IntegrationTests.Husk;

/// <summary>The husk really runs, stops, sits at its fixed address, and takes a chosen PID (needs root).</summary>
public sealed unsafe partial class HuskTests : IDisposable
{
    readonly HuskLauncher _launcher = new();
    readonly List<int> _started = [];

    public void Dispose()
    {
        foreach (int pid in _started)
        {
            kill(pid, 9);
            int status;
            waitpid(pid, &status, 0x40000000);
        }
        _launcher.Dispose();
    }

    static readonly MapKind[] KernelMappings = [MapKind.Stack, MapKind.Vvar, MapKind.VvarVclock, MapKind.Vdso, MapKind.Vsyscall];

    void AssertIsStoppedHusk(int pid)
    {
        Assert.Equal('T', ProcStatFile.Read(pid).State);
        var maps = ProcMaps.Read(pid);
        var own = Assert.Single(maps, m => !KernelMappings.Contains(m.Kind));
        Assert.Equal((HuskImage.BaseAddress, HuskImage.BaseAddress + 4096), (own.Start, own.End));
        Assert.Equal(MapProt.Read | MapProt.Write | MapProt.Exec, own.Prot);
        Assert.StartsWith("/memfd:ferry-husk", own.Path);
        Assert.Single(maps, m => m.Kind == MapKind.Stack);
        Assert.False(maps.Single(m => m.Kind == MapKind.Stack).IsExecutable);
        var gadget = new byte[3];
        using (var mem = File.OpenHandle($"/proc/{pid}/mem"))
            Assert.Equal(3, RandomAccess.Read(mem, gadget, (long)HuskImage.SyscallAddress));
        Assert.Equal(new byte[] { 0x0f, 0x05, 0xcc }, gadget); // syscall; int3
        Assert.DoesNotContain(ProcFds.Read(pid), f => f.Fd > 2);
    }

    [Fact]
    public void PlainHuskStopsItselfWithOnlyItsOwnPage()
    {
        int pid = _launcher.StartStopped();
        _started.Add(pid);
        AssertIsStoppedHusk(pid);
        Assert.Equal(Environment.ProcessId, ProcStatusFile.Read(pid).PPid);
    }

    [Fact]
    public void HuskGetsExactlyTheRequestedPidAndIsOurChild()
    {
        int pid = StartWithFreePid();
        AssertIsStoppedHusk(pid);
        var status = ProcStatusFile.Read(pid);
        Assert.Equal(pid, status.Pid);
        Assert.Equal(Environment.ProcessId, status.PPid); // CLONE_PARENT: the launcher's parent is us
    }

    [Fact]
    public void HuskCanBeInitOfANewPidNamespaceWithAChosenOuterPid()
    {
        int pid = StartWithFreePid(outer => [1, outer], HuskImage.CLONE_PARENT | HuskImage.CLONE_NEWPID);
        AssertIsStoppedHusk(pid);
        Assert.Equal([pid, 1], ProcStatusFile.Read(pid).NSpid);
        Assert.Equal(1, RunOnTracerThread(() => RemoteGetpid(pid))); // getpid inside the namespace
    }

    int StartWithFreePid() => StartWithFreePid(pid => [pid], HuskImage.CLONE_PARENT);

    int StartWithFreePid(Func<int, int[]> setTid, ulong flags)
    {
        int pidMax = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max"));
        for (int attempt = 0; attempt < 20; attempt++)
        {
            int candidate = Random.Shared.Next(pidMax / 2, pidMax);
            if (Directory.Exists($"/proc/{candidate}")) continue;
            try
            {
                int pid = _launcher.StartWithPid(setTid(candidate), flags);
                _started.Add(pid);
                Assert.Equal(candidate, pid);
                return pid;
            }
            catch (HuskLaunchException e) when (e.Errno == 17) { } // taken meanwhile: try another
        }
        throw new InvalidOperationException("no free PID found in 20 attempts");
    }

    [Fact]
    public void TakenPidIsReportedAsEexist()
    {
        var e = Assert.Throws<HuskLaunchException>(() => _launcher.StartWithPid([Environment.ProcessId]));
        Assert.Equal(17, e.Errno);
        Assert.Contains("EEXIST", e.Message);
        Assert.Contains(Environment.ProcessId.ToString(), e.Message);
    }

    [Fact]
    public void PidAbovePidMaxIsReportedAsEinval()
    {
        int pidMax = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max"));
        var e = Assert.Throws<HuskLaunchException>(() => _launcher.StartWithPid([pidMax + 1]));
        Assert.Equal(22, e.Errno);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void WrittenFileIsTheImageWithMode0700()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ferry-husk-{Guid.NewGuid():N}");
        try
        {
            HuskImage.WriteToFile(path);
            Assert.Equal(HuskImage.Build(), File.ReadAllBytes(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
            var readelf = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("readelf", ["-lhW", path])
                { RedirectStandardOutput = true })!;
            string text = readelf.StandardOutput.ReadToEnd();
            readelf.WaitForExit();
            Assert.Contains("EXEC (Executable file)", text);
            Assert.Contains($"0x{HuskImage.EntryAddress:x}", text);
            Assert.Contains("GNU_STACK", text);
            Assert.Single(text.Split('\n'), l => l.TrimStart().StartsWith("LOAD"));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TracerCanRunARemoteSyscallThroughTheGadget()
    {
        int pid = StartWithFreePid();
        Assert.Equal(pid, RunOnTracerThread(() => RemoteGetpid(pid)));
    }

    /// <summary>Every ptrace request for a tracee must come from one thread: run them all on a fresh one.</summary>
    static long RunOnTracerThread(Func<long> work)
    {
        long result = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
        return result;
    }

    static long RemoteGetpid(int pid)
    {
        const int PTRACE_CONT = 7, PTRACE_GETREGS = 12, PTRACE_SETREGS = 13, PTRACE_SEIZE = 0x4206;
        const int RaxIndex = 10, OrigRaxIndex = 15, RipIndex = 16;
        // The husk is already in group-stop: seizing it makes it trap into a PTRACE_EVENT_STOP by itself.
        Assert.Equal(0, ptrace(PTRACE_SEIZE, pid, 0, 0));
        int status;
        Assert.Equal(pid, waitpid(pid, &status, 0x40000000));
        Assert.Equal((0x7f, 19, 128), (status & 0xff, status >> 8 & 0xff, status >> 16)); // SIGSTOP group-stop, EVENT_STOP
        ulong* regs = stackalloc ulong[27];
        Assert.Equal(0, ptrace(PTRACE_GETREGS, pid, 0, (nint)regs));
        regs[RipIndex] = HuskImage.SyscallAddress;
        regs[RaxIndex] = 39; // getpid
        regs[OrigRaxIndex] = ulong.MaxValue;
        Assert.Equal(0, ptrace(PTRACE_SETREGS, pid, 0, (nint)regs));
        Assert.Equal(0, ptrace(PTRACE_CONT, pid, 0, 0));
        Assert.Equal(pid, waitpid(pid, &status, 0x40000000));
        Assert.Equal((0x7f, 5), (status & 0xff, status >> 8 & 0xff)); // SIGTRAP from the int3
        Assert.Equal(0, ptrace(PTRACE_GETREGS, pid, 0, (nint)regs));
        Assert.Equal(HuskImage.SyscallAddress + 3, regs[RipIndex]);
        return (long)regs[RaxIndex];
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long ptrace(long request, int pid, nint address, nint data);

    [LibraryImport("libc")]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int kill(int pid, int signal);
}
