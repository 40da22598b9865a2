using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>A root test that also needs CRIU's crit; skipped, saying why, without it.</summary>
public sealed class CritFactAttribute : FactAttribute
{
    public CritFactAttribute()
    {
        if (LibC.geteuid() != 0) Skip = RootFactAttribute.Reason;
        else if (!Crit.Available) Skip = $"{Crit.Path} (CRIU's image tool) is not installed";
    }
}

/// <summary>
/// A dump-then-restore test: skipped, saying why, while this build's `ferry restore` says it is not available
/// (the restore engine is built on another branch).
/// </summary>
public sealed class RoundTripFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Missing = new(() =>
    {
        var result = FerryBinary.Run("restore", "-D", "/nonexistent-ferry-images");
        return result.StdErr.Contains("not available", StringComparison.Ordinal)
            ? "`ferry restore` is not available in this build yet" : null;
    });

    public RoundTripFactAttribute()
    {
        if (LibC.geteuid() != 0) Skip = RootFactAttribute.Reason;
        else if (Missing.Value is { } reason) Skip = reason;
    }
}
