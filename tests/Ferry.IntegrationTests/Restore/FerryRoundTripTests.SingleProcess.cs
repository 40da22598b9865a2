using Ferry.IntegrationTests.Targets;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>Round trips of single-process resources: POSIX timers, FIFOs, memfd.</summary>
public partial class FerryRoundTripTests
{
    [FerryDumpFact]
    public void Posix_timers_keep_their_ids_values_and_times_and_fire_on()
    {
        using var round = RoundTrip.Of("posix_timer");
        var timers = File.ReadAllText($"/proc/{round.Pid}/timers");
        Assert.Contains($"ID: {round.Target.Ready["tick_id"]}\n", timers);
        Assert.Contains($"ID: {round.Target.Ready["late_id"]}\n", timers);

        round.Target.Signal(TargetProcess.SIGUSR2);
        int before = int.Parse(round.Target.WaitForResult("ticks"));
        Thread.Sleep(300);
        Assert.Equal(0, round.Stop());
        Assert.True(int.Parse(round.Target.Result("ticks")!) >= before + 10, "the POSIX timer did not keep firing after the restore");
        Assert.Equal("0", round.Target.Result("bad"));
        Assert.Equal("10000000", round.Target.Result("tick_interval_ns"));
        Assert.Equal("0", round.Target.Result("late_fired"));
        int lateLeft = int.Parse(round.Target.Result("late_left_s")!);
        Assert.InRange(lateLeft, 550, 599);
    }
}
