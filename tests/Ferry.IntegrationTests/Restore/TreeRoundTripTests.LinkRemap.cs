using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void With_link_remap_a_deleted_file_still_linked_elsewhere_comes_back_as_the_same_inode()
    {
        using var target = DumpTarget.Start("deleted_linked", passWorkDir: true);
        RoundTrip(target, [], "--link-remap");
        try
        {
            LibC.kill(target.Pid, SIGUSR1);
            Assert.Equal("same_inode=1 size=1000", WaitForFile(target, "result.txt", 10).Trim());
            // The dump's extra link served the restore only.
            Assert.Empty(Directory.GetFiles(target.WorkDir, "link_remap.*"));
        }
        finally
        {
            Kill(target.Pid);
        }
    }
}
