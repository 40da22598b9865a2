using System.Diagnostics;

namespace Ferry.IntegrationTests.Cli;

/// <summary>Runs the published NativeAOT `ferry` ($FERRY_BIN, else out/ferry above the test binaries).</summary>
public static class FerryBinary
{
    public static string Path { get; } = Locate();

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(params string[] args)
    {
        var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ferry {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FERRY_BIN");
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "out", "ferry");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("the ferry binary was not found: run scripts/build.sh or set FERRY_BIN");
    }
}
