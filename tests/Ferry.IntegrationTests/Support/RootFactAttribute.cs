using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Support;

/// <summary>A fact that is skipped, saying why, unless the tests run as root (ptrace and /proc/PID/mem of other processes).</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public const string Reason = "needs root: it ptraces and reads the memory of real processes";

    public RootFactAttribute()
    {
        if (LibC.geteuid() != 0) Skip = Reason;
    }
}
