using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void A_SIGTRAP_handler_survives_the_single_steps_of_dump_and_restore()
    {
        const int SIGTRAP = 5;
        using var target = DumpTarget.Start("sigtrap_handler", passWorkDir: true);
        RoundTrip(target, []);
        try
        {
            LibC.kill(target.Pid, SIGTRAP);
            Assert.Equal("trap", WaitForFile(target, "trap.txt", 5).Trim());
            Assert.True(CriuVector.IsAlive(target.Pid), "the process died of its SIGTRAP");
        }
        finally
        {
            Kill(target.Pid);
        }
    }
}
