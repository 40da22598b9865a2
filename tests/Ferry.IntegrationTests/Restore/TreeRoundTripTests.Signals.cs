using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    /// <summary>
    /// What a restore may skip because the husk has it already must really be the husk's: SIGUSR2 default but with
    /// SA_RESTART|SA_NODEFER and a mask, SIGURG ignored, SIGPIPE default (the husk inherits Ferry's ignored SIGPIPE),
    /// and two lowered soft limits, as the process itself reads them (tests/targets/signal_actions.c).
    /// </summary>
    [RootFact]
    public void Signal_actions_default_ones_with_flags_included_and_lowered_limits_come_back_exactly()
    {
        const int SIGUSR1 = 10;
        using var target = DumpTarget.Start("signal_actions", passWorkDir: true);
        var before = Actions(target);
        Assert.Equal(["12 0 0x50000000 0x4002", "23 1 0x0 0x0", "13 0 0x0 0x0"], before); // the target set what it should
        var limits = File.ReadAllText($"/proc/{target.Pid}/limits");
        RoundTrip(target, []);
        try
        {
            Assert.Equal(limits, File.ReadAllText($"/proc/{target.Pid}/limits"));
            Assert.Equal(before, Actions(target));
        }
        finally
        {
            Kill(target.Pid);
        }

        static string[] Actions(DumpTarget target)
        {
            var path = Path.Combine(target.WorkDir, "actions.txt");
            File.Delete(path);
            LibC.kill(target.Pid, SIGUSR1);
            Poll.Until(() => File.Exists(path), "the target to write its signal actions");
            return File.ReadAllLines(path);
        }
    }
}
