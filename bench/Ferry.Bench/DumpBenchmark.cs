using System.Diagnostics;
using System.Globalization;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Tracing;

namespace Ferry.Bench;

/// <summary>
/// `ferry dump` (the AOT binary, $FERRY_BIN or out/ferry) of a process holding 64 MiB, 512 MiB and 2 GiB of written
/// anonymous memory (tests/targets dump_memory), and of a tiny process (dump_counter). Each size is dumped three
/// times, each time from a fresh process (the dump kills it, as CRIU's does); prints the median wall time of the
/// whole command, GB/s of memory, and the frozen time the dump recorded in stats-dump.
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

    static void Report(string name, int mib, List<(double Seconds, double FrozenSeconds, long Bytes)> runs)
    {
        var wall = Median(runs.Select(r => r.Seconds));
        var frozen = Median(runs.Select(r => r.FrozenSeconds));
        var bytes = runs[0].Bytes;
        var rate = mib > 0 ? $", {bytes / wall / 1e9:F2} GB/s" : "";
        Console.WriteLine($"dump {name}: {wall:F3} s{rate} (frozen {frozen:F3} s; {bytes >> 20} MiB of pages; runs {string.Join(" ", runs.Select(r => r.Seconds.ToString("F3", CultureInfo.InvariantCulture)))})");
    }

    static List<(double, double, long)> Measure(string ferry, string parent, Func<ChildProcess> start)
    {
        var results = new List<(double, double, long)>();
        for (var i = 0; i < Repeats; i++)
        {
            var images = Directory.CreateDirectory(Path.Combine(parent, $"ferry-bench-dump-{Environment.ProcessId}-{i}")).FullName;
            using var target = start();
            try
            {
                var clock = Stopwatch.StartNew();
                using (var dump = Process.Start(new ProcessStartInfo(ferry, ["dump", "-t", target.Pid.ToString(CultureInfo.InvariantCulture), "-D", images]) { RedirectStandardError = true })!)
                {
                    var error = dump.StandardError.ReadToEnd();
                    dump.WaitForExit();
                    if (dump.ExitCode != 0) throw new InvalidOperationException($"ferry dump failed: {error}");
                }
                var seconds = clock.Elapsed.TotalSeconds;
                var stats = ImageReader.ReadFile(Path.Combine(images, "stats-dump")).Entries[0].As<stats_entry>().Dump;
                results.Add((seconds, stats.FrozenTime / 1e6, (long)stats.PagesWritten * 4096));
                target.WaitForExit(TimeSpan.FromSeconds(30));
            }
            finally
            {
                Directory.Delete(images, recursive: true);
            }
        }
        return results;
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
