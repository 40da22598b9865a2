using System.Runtime.InteropServices;

namespace Ferry.Bench;

/// <summary>The few libc calls the benchmarks need (Ferry's own interop is internal to the library).</summary>
internal static partial class Native
{
    [LibraryImport("libc")]
    public static partial uint geteuid();

    [LibraryImport("libc")]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc")]
    public static unsafe partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    public static partial int prctl(int option, nuint a2, nuint a3, nuint a4, nuint a5);
}

/// <summary>Where the repository is: the benchmarks run the programs and the binary built in it.</summary>
internal static class Paths
{
    public static string Root { get; } = Find();

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ferry.slnx"))) return dir.FullName;
        throw new InvalidOperationException("run the benchmarks from inside the repository");
    }
}

/// <summary>Starts a test program (tests/targets) and waits for its "ready" line.</summary>
internal static class ReadyProgram
{
    public static Ferry.Tracing.ChildProcess Start(string program, params string[] arguments)
    {
        var output = Path.GetTempFileName();
        var child = Ferry.Tracing.ChildProcess.Start(new Ferry.Tracing.SpawnOptions(program, arguments)
        {
            Stdout = Ferry.Tracing.Stdio.ToFile(output), NewSession = true,
        });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.ReadAllText(output).Contains("ready\n", StringComparison.Ordinal))
        {
            if (child.HasExited || DateTime.UtcNow > deadline) throw new InvalidOperationException($"{program} did not get ready");
            Thread.Sleep(5);
        }
        File.Delete(output);
        return child;
    }
}
