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
    /// as the process itself reads them (tests/targets/signal_actions.c); two lowered soft limits, umask 027 and
    /// ADDR_NO_RANDOMIZE, as /proc shows them.
    /// </summary>
    [RootFact]
    public void Signal_actions_default_ones_with_flags_included_limits_umask_and_personality_come_back_exactly()
    {
        const int SIGUSR1 = 10;
        using var target = DumpTarget.Start("signal_actions", passWorkDir: true);
        var before = Actions(target);
        Assert.Equal(["12 0 0x50000000 0x4002", "23 1 0x0 0x0", "13 0 0x0 0x0"], before); // the target set what it should
        var limits = File.ReadAllText($"/proc/{target.Pid}/limits");
        var umask = UmaskLine(target.Pid);
        var personality = File.ReadAllText($"/proc/{target.Pid}/personality");
        Assert.Equal(("Umask:\t0027", "00040000\n"), (umask, personality)); // ADDR_NO_RANDOMIZE
        RoundTrip(target, []);
        try
        {
            Assert.Equal(limits, File.ReadAllText($"/proc/{target.Pid}/limits"));
            Assert.Equal(umask, UmaskLine(target.Pid));
            Assert.Equal(personality, File.ReadAllText($"/proc/{target.Pid}/personality"));
            Assert.Equal(before, Actions(target));
        }
        finally
        {
            Kill(target.Pid);
        }

        static string UmaskLine(int pid) => File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("Umask:", StringComparison.Ordinal));

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
