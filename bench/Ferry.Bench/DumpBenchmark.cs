using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Tracing;

namespace Ferry.Bench;

/// <summary>
/// `ferry dump` (the AOT binary, $FERRY_BIN or out/ferry) of a process holding 64 MiB, 512 MiB and 2 GiB of written
/// anonymous memory (tests/targets dump_memory), and of a tiny process (dump_counter). Each size is dumped once to
/// warm up and then three times, each time from a fresh process (the dump kills it, as CRIU's does) into the same
/// images directory: a checkpoint that replaces the previous one, as periodic checkpoints do. A fresh directory each
/// time measured the VM rather than the tool: the page cache then takes freshly freed guest memory, which this
/// machine kind's hypervisor hands back slowly (a 2 GiB dump took 0.4 s or 3 s by that alone, for CRIU as for Ferry).
/// Prints the median wall time of the
/// whole command, GB/s of memory, the frozen time the dump recorded in stats-dump, and where the time of the median
/// run went (from the timestamps of its -v4 log): start (process start to frozen), collect (frozen to the start of
/// the memory dump: task state, VMAs from smaps), memory (all of the memory dump; in it scan: pagemap, copy: the
/// reader's process_vm_readv time, write: time the reader waited for image writes), rest (after memory: images, kill) and exit (log end to process end).
/// </summary>
internal static class DumpBenchmark
{
    const int Repeats = 3;

    public static void Run()
    {
        var root = Paths.Root;
        var ferry = Environment.GetEnvironmentVariable("FERRY_BIN") ?? Path.Combine(root, "out", "ferry");
        var targets = Path.Combine(root, "tests", "targets", "build");
        var parent = Environment.GetEnvironmentVariable("FERRY_BENCH_DIR") ?? Path.GetTempPath();
        foreach (var mib in new[] { 64, 512, 2048 })
            Report($"{mib} MiB", mib, Measure(ferry, parent, () => ReadyProgram.Start(Path.Combine(targets, "dump_memory"), mib.ToString(CultureInfo.InvariantCulture))));
        var work = Directory.CreateTempSubdirectory("ferry-bench-counter-").FullName;
        try
        {
            Report("tiny (dump_counter)", 0, Measure(ferry, parent, () => ReadyProgram.Start(Path.Combine(targets, "dump_counter"), work)));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static void Report(string name, int mib, (DumpRun WarmUp, List<DumpRun> Runs) measured)
    {
        var (warmUp, runs) = measured;
        var median = runs.OrderBy(r => r.Seconds).ElementAt(runs.Count / 2);
        var wall = median.Seconds;
        var frozen = Median(runs.Select(r => r.FrozenSeconds));
        var bytes = runs[0].Bytes;
        var rate = mib > 0 ? $", {bytes / wall / 1e9:F2} GB/s" : "";
        Console.WriteLine($"dump {name}: {wall:F3} s{rate} (frozen {frozen:F3} s; {bytes >> 20} MiB of pages; runs {string.Join(" ", runs.Select(r => r.Seconds.ToString("F3", CultureInfo.InvariantCulture)))}; warm-up into a new directory {warmUp.Seconds:F3})");
        Console.WriteLine($"  median run, ms: {median.Breakdown}");
    }

    sealed record DumpRun(double Seconds, double FrozenSeconds, long Bytes, string Breakdown);

    static (DumpRun WarmUp, List<DumpRun> Runs) Measure(string ferry, string parent, Func<ChildProcess> start)
    {
        DumpRun? warmUp = null;
        var results = new List<DumpRun>();
        var images = Directory.CreateDirectory(Path.Combine(parent, $"ferry-bench-dump-{Environment.ProcessId}")).FullName;
        try
        {
            for (var i = 0; i <= Repeats; i++)
            {
                using var target = start();
                var clock = Stopwatch.StartNew();
                var log = Path.Combine(images, "dump.log");
                using (var dump = Process.Start(new ProcessStartInfo(ferry, ["dump", "-t", target.Pid.ToString(CultureInfo.InvariantCulture), "-D", images, "-v4", "-o", log]) { RedirectStandardError = true })!)
                {
                    var error = dump.StandardError.ReadToEnd();
                    dump.WaitForExit();
                    if (dump.ExitCode != 0) throw new InvalidOperationException($"ferry dump failed: {error}");
                }
                var seconds = clock.Elapsed.TotalSeconds;
                var stats = ImageReader.ReadFile(Path.Combine(images, "stats-dump")).Entries[0].As<stats_entry>().Dump;
                var run = new DumpRun(seconds, stats.FrozenTime / 1e6, (long)stats.PagesWritten * 4096, Breakdown(File.ReadAllLines(log), seconds));
                if (i == 0) warmUp = run;
                else results.Add(run);
                target.WaitForExit(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            Directory.Delete(images, recursive: true);
        }
        return (warmUp!, results);
    }

    /// <summary>Splits a run's time by the timestamps of its log, e.g. "(  0.012187) Debug: ..." (seconds since start).</summary>
    static string Breakdown(string[] log, double wall)
    {
        double At(string text) => log.Where(l => l.Contains(text, StringComparison.Ordinal))
            .Select(l => double.Parse(l[1..l.IndexOf(')')], CultureInfo.InvariantCulture)).DefaultIfEmpty(double.NaN).First();
        double Ms(string line, string pattern) =>
            Regex.Match(line, pattern) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
        var memoryLine = log.FirstOrDefault(l => l.Contains(" pages in ", StringComparison.Ordinal)) ?? "";
        double frozenAt = At("froze the tree"), memoryEnd = At(" pages in "), finished = At("Dumping finished");
        double memory = Ms(memoryLine, @"written in ([0-9.]+) ms"), scan = Ms(memoryLine, @"pagemap scan ([0-9.]+) ms"),
            copy = Ms(memoryLine, @"copying ([0-9.]+) ms"), write = Ms(memoryLine, @"waiting for writes ([0-9.]+) ms");
        // The log starts a little after the process does: that part is counted in exit.
        return string.Create(CultureInfo.InvariantCulture,
            $"start {frozenAt * 1e3:F1}, collect {memoryEnd * 1e3 - memory - frozenAt * 1e3:F1}, memory {memory:F1} (scan {scan:F1}, copy {copy:F1}, write {write:F1}), "
            + $"rest {(finished - memoryEnd) * 1e3:F1}, exit {(wall - finished) * 1e3:F1}");
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
