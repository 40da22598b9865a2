using System.Globalization;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Dump;

/// <summary>
/// Dump then `ferry restore -d` of the same process under the same PID. Skipped while this build's restore says
/// it is not available (the restore engine lives on its own branch until the lead merges both).
/// </summary>
public sealed class RoundTripTests
{
    [RoundTripFact]
    public void A_dumped_counter_is_restored_and_counts_on_without_a_gap_or_repeat()
    {
        using var target = DumpTarget.Start("dump_counter", passWorkDir: true);
        var dump = target.Dump();
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        var atDump = Counter(target);

        Restore(target);
        try
        {
            WaitFor(() => Counter(target) > atDump + 20, "the restored counter to count on");
            var values = Values(target);
            Assert.Equal(Enumerable.Range(1, values.Count), values);
        }
        finally
        {
            KillRestored(target.Pid);
        }
    }

    [RoundTripFact]
    public void A_checkpoint_taken_with_leave_running_restores_after_the_process_is_killed()
    {
        using var target = DumpTarget.Start("dump_counter", passWorkDir: true);
        var dump = target.Dump("--leave-running");
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.Signal(9);
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        var lines = Values(target).Count;

        Restore(target);
        try
        {
            WaitFor(() => Values(target).Count > lines + 20, "the restored counter to append lines");
        }
        finally
        {
            KillRestored(target.Pid);
        }
    }

    [RoundTripFact]
    public void A_256_MiB_memory_pattern_comes_back_byte_for_byte()
    {
        using var target = DumpTarget.Start("dump_memory", passWorkDir: false, "256");
        var memory = target.Address("memory");
        var dump = target.Dump();
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));

        Restore(target);
        try
        {
            using var mem = File.OpenHandle($"/proc/{target.Pid}/mem");
            var page = new byte[4096];
            for (var i = 0; i < 256 * 256; i++)
            {
                RandomAccess.Read(mem, page, (long)(memory + (ulong)i * 4096));
                Assert.True(page.All(b => b == (byte)(i * 7 + 1)), $"page {i} differs after restore");
            }
        }
        finally
        {
            KillRestored(target.Pid);
        }
    }

    static void Restore(DumpTarget target)
    {
        WaitFor(() => !Directory.Exists($"/proc/{target.Pid}"), $"PID {target.Pid} to be free");
        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d", "-o", "restore.log", "-v4");
        var log = File.Exists(target.Image("restore.log")) ? File.ReadAllText(target.Image("restore.log")) : "";
        Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}\n{log}");
        Assert.True(Directory.Exists($"/proc/{target.Pid}"), $"no process {target.Pid} after restore");
    }

    /// <summary>The restored process is not our child: kill it and wait until init has reaped it.</summary>
    static void KillRestored(int pid)
    {
        LibC.kill(pid, 9);
        WaitFor(() => !Directory.Exists($"/proc/{pid}"), $"restored process {pid} to be gone", 20);
    }

    static List<int> Values(DumpTarget target) =>
        File.ReadAllLines(Path.Combine(target.WorkDir, "counter.log")).Where(l => l.Length > 0)
            .Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();

    static int Counter(DumpTarget target) => Values(target).LastOrDefault();

    static void WaitFor(Func<bool> condition, string what, double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {what} after {seconds} s");
            Thread.Sleep(10);
        }
    }
}
