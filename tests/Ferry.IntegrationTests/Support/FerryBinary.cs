using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Support;

/// <summary>The published `ferry` binary: $FERRY_BIN (set by scripts/test.sh) or out/ferry in the repository.</summary>
public static class FerryBinary
{
    public static string? Path { get; } = Locate();

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs ferry with these arguments and collects its exit code and output (2 minutes at most).</summary>
    public static Result Run(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Path ?? throw new FileNotFoundException("the ferry binary is not built: run scripts/build.sh or set FERRY_BIN"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ferry {string.Join(' ', args)} did not finish in 2 minutes");
        }
        if (!Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(10)))
            throw new TimeoutException($"ferry {string.Join(' ', args)} exited, but a process it left running holds its stdout or stderr open");
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    static string? Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FERRY_BIN");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv)) return fromEnv;
        var built = System.IO.Path.Combine(TestTargets.RepositoryRoot, "out", "ferry");
        return File.Exists(built) ? built : null;
    }
}

/// <summary>A root fact that runs the published ferry binary; skipped with the reason when it is not built.</summary>
public sealed class RootFerryBinaryFactAttribute : RootFactAttribute
{
    public RootFerryBinaryFactAttribute()
    {
        if (Skip is null && FerryBinary.Path is null) Skip = "the ferry binary is not built (scripts/build.sh publishes it to out/ferry)";
    }
}
