using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void A_pipe_owned_for_signal_driven_io_signals_its_owner_again()
    {
        using var target = DumpTarget.Start("fown_pipe", passWorkDir: true);
        int writeEnd = target.Value("write");
        RoundTrip(target, []);
        try
        {
            using (var pipe = new FileStream($"/proc/{target.Pid}/fd/{writeEnd}", FileMode.Open, FileAccess.Write))
                pipe.WriteByte((byte)'x');
            // SIGUSR2 (12) to the owner, which was made the owner with effective uid 1; the read end's flags are
            // O_RDONLY | O_ASYNC as pipe() made them (no O_LARGEFILE, which a reopen would add).
            Assert.Equal($"sigio 1 owner={target.Pid} sig=12 uids=0,1 flags=20000", WaitForFile(target, "sigio.txt", 10).Trim());
        }
        finally
        {
            Kill(target.Pid);
        }
    }
}
