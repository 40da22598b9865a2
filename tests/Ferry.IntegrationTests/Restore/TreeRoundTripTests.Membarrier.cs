using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void Membarrier_registrations_survive_and_expedited_barriers_still_work()
    {
        using var target = DumpTarget.Start("membarrier_regs", passWorkDir: true);
        RoundTrip(target, []);
        try
        {
            LibC.kill(target.Pid, SIGUSR1);
            // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | ..._SYNC_CORE, and a private expedited barrier succeeds.
            Assert.Equal("registrations=0x50 barrier=0", WaitForFile(target, "membarrier.txt", 10).Trim());
        }
        finally
        {
            Kill(target.Pid);
        }
    }
}
