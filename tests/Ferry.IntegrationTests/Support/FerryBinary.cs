using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Support;

/// <summary>The published `ferry` binary: $FERRY_BIN (set by scripts/test.sh) or out/ferry in the repository.</summary>
public static class FerryBinary
{
    public static string? Path { get; } = Locate();

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
