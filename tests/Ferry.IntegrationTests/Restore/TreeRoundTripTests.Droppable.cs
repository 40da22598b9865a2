using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void Droppable_memory_comes_back_empty_and_wipe_on_fork_memory_whole_but_still_wiped_for_children()
    {
        using var target = DumpTarget.Start("droppable_memory", passWorkDir: true);
        RoundTrip(target, []);
        try
        {
            LibC.kill(target.Pid, SIGUSR1);
            Assert.Equal("droppable=0 wipeonfork=1 child_sees=0", WaitForFile(target, "memory.txt", 10).Trim());
        }
        finally
        {
            Kill(target.Pid);
        }
    }
}
