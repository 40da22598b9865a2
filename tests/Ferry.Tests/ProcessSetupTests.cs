using Ferry.Linux;
using Xunit;

namespace Ferry.Tests;

public class ProcessSetupTests
{
    [Fact]
    public void ResetChildSignal_leaves_SIGCHLD_at_default()
    {
        ProcessSetup.ResetChildSignal();
        // Bit 17 (SIGCHLD, counted from 1) is clear in SigIgn when the disposition is the default.
        var sigIgn = File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:"));
        var mask = Convert.ToUInt64(sigIgn["SigIgn:".Length..].Trim(), 16);
        Assert.Equal(0UL, mask & (1UL << (17 - 1)));
    }
}
