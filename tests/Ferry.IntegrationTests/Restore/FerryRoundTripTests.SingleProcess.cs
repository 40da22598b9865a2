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

    [FerryDumpFact]
    public void Fifos_are_reopened_by_path_with_their_unread_data()
    {
        using var round = RoundTrip.Of("fifo_holder");
        string fifo = round.Target.Ready["fifo"];
        // Still the FIFO at that path: what is written there now comes after the unread bytes.
        using (var writer = new FileStream(File.OpenHandle(fifo, FileMode.Open, FileAccess.Write), FileAccess.Write))
            writer.Write("+after"u8);
        round.Target.Signal(TargetProcess.SIGUSR1);
        Assert.Equal("ferry-fifo-data-0123456789+after", round.Target.WaitForResult("data"));
        Assert.Equal(0, round.Stop());
        Assert.Equal("8800", round.Target.Result("read_flags"));
        Assert.Equal("8001", round.Target.Result("write_flags"));
        Assert.Equal("1", round.Target.Result("wfifo_ok"));
    }

    [FerryDumpFact]
    public void Memfd_keeps_contents_offset_and_seals_and_its_shared_mapping_stays_shared_with_the_fd()
    {
        using var round = RoundTrip.Of("memfd_holder");
        Assert.True(File.Exists(Path.Combine(round.ImagesDir, "memfd.img")), "the dump wrote no memfd.img");
        Assert.Contains("/memfd:ferry-memfd (deleted)", File.ReadAllText($"/proc/{round.Pid}/maps"));
        Assert.Equal(0, round.Stop());
        Assert.Equal("/memfd:ferry-memfd_(deleted)", round.Target.Result("name"));
        Assert.Equal("12388", round.Target.Result("size"));
        Assert.Equal("5000", round.Target.Result("pos"));
        Assert.Equal("2", round.Target.Result("seals")); // F_SEAL_SHRINK
        Assert.Equal("1", round.Target.Result("content_ok"));
        Assert.Equal("1", round.Target.Result("shared"));
    }
}
