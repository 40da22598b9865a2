using Ferry.Images.Protos;
using Ferry.IntegrationTests.Support;
using Ferry.IntegrationTests.Targets;
using Ferry.Restore;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>A process that unmapped its [vdso], [vvar] and [vvar_vclock] (zdtm's vdso02): dumped and restored without them.</summary>
public partial class FerryRoundTripTests
{
    [FerryDumpFact]
    public void A_process_without_a_vdso_is_dumped_without_one_and_runs_on()
    {
        using var target = TargetProcess.Start("novdso_counter");
        Assert.Equal("0", target.Ready["vdso_left"]);
        var images = Path.Combine(target.Directory, "images");
        Directory.CreateDirectory(images);

        var dump = FerryBinary.Run("dump", "-t", $"{target.Pid}", "-D", images, "--leave-running", "-v4", "-o", "dump.log");

        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}");
        var vmas = Dump.Images.Single<mm_entry>(Path.Combine(images, $"mm-{target.Pid}.img")).Vmas;
        Assert.NotEmpty(vmas);
        Assert.DoesNotContain(vmas, v => Vma.IsKernelArea(v) && !Vma.Is(v, Vma.Vsyscall));
        int counted = File.ReadAllLines(target.OutPath).Length;
        Assert.True(SpinWait.SpinUntil(() => File.ReadAllLines(target.OutPath).Length > counted, 20000), "the target stopped counting after the dump");
        Assert.Equal(0, target.Stop());
    }

    [FerryDumpFact]
    public void A_process_without_a_vdso_comes_back_without_one_and_counts_on()
    {
        using var round = RoundTrip.Of("novdso_counter");
        CountsOnWithoutVdso(round);
    }

    [FerryDumpFact]
    public void The_husks_own_vdso_steps_aside_when_a_dumped_area_is_where_it_lies()
    {
        // The target fills the upper terabytes, where the kernel places every process's vdso.
        using var round = RoundTrip.Of("novdso_counter", "crowd");
        Assert.Contains("out of the dumped areas' way", File.ReadAllText(Path.Combine(round.ImagesDir, "restore.log")));
        CountsOnWithoutVdso(round);
    }

    static void CountsOnWithoutVdso(RoundTrip round)
    {
        var maps = File.ReadAllText($"/proc/{round.Pid}/maps");
        Assert.DoesNotContain("[vdso]", maps);
        Assert.DoesNotContain("[vvar", maps);
        Assert.True(SpinWait.SpinUntil(() => File.ReadAllLines(round.Target.OutPath).Length > round.NumbersAtDump, 20000),
            "the counter did not advance after the restore");
        Assert.Equal(0, round.Stop());
        var numbers = File.ReadAllLines(round.Target.OutPath).Select(long.Parse).ToList();
        Assert.Equal(Enumerable.Range(1, numbers.Count).Select(i => (long)i), numbers);
    }
}
