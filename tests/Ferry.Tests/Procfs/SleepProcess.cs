using System.Runtime.InteropServices;
using Xunit;

namespace Ferry.Tests.Procfs;

/// <summary>
/// A `sleep` child to read /proc of. Started with posix_spawnp and reaped with waitpid on its pid, not with
/// System.Diagnostics.Process: another test resets SIGCHLD to SIG_DFL, which stops .NET from ever seeing its
/// children exit (WaitForExit would hang).
/// </summary>
sealed unsafe partial class SleepProcess : IDisposable
{
    public int Pid { get; }
    bool _reaped;

    public SleepProcess(string seconds = "100", string? environmentVariable = null)
    {
        string[] argv = ["sleep", seconds];
        var env = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}").ToList();
        if (environmentVariable is not null) env.Add($"{environmentVariable}=ferry-test-value");
        Pid = Spawn(argv, env.ToArray());
        // Wait until sleep is really asleep (exec done, in nanosleep), so tests see a settled process.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (seconds != "0" && !IsSleeping() && DateTime.UtcNow < deadline) Thread.Sleep(2);
    }

    bool IsSleeping()
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{Pid}/stat");
            return stat.Contains("(sleep) S ") && File.ReadAllText($"/proc/{Pid}/syscall").StartsWith("230 ");
        }
        catch (IOException) { return false; }
    }

    static int Spawn(string[] argv, string[] envp)
    {
        var strings = new List<nint>();
        try
        {
            nint[] args = [.. argv.Select(a => Track(strings, Marshal.StringToCoTaskMemUTF8(a))), 0];
            nint[] env = [.. envp.Select(e => Track(strings, Marshal.StringToCoTaskMemUTF8(e))), 0];
            int pid;
            fixed (nint* a = args, e = env)
            {
                int rc = posix_spawnp(&pid, "sleep", 0, 0, a, e);
                Assert.Equal(0, rc);
            }
            return pid;
        }
        finally { strings.ForEach(Marshal.FreeCoTaskMem); }
    }

    static nint Track(List<nint> list, nint p) { list.Add(p); return p; }

    /// <summary>Waits for the child to exit by itself and reaps it.</summary>
    public void WaitForExit()
    {
        int status;
        Assert.Equal(Pid, waitpid(Pid, &status, 0));
        _reaped = true;
    }

    public void Dispose()
    {
        if (_reaped) return;
        kill(Pid, 9);
        WaitForExit();
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawnp(int* pid, string file, nint fileActions, nint attributes, nint* argv, nint* envp);

    [LibraryImport("libc")]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int kill(int pid, int signal);
}
