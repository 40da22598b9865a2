using System.Diagnostics;
using System.Globalization;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Tracing;

namespace Ferry.Bench;

/// <summary>
/// `ferry dump` and `ferry restore -d` (the AOT binary, $FERRY_BIN or out/ferry) of trees of 1, 10 and 100 processes
/// with 4 MiB of written memory each, and of one process with 1, 16 and 256 threads (tests/targets bench_tree).
/// Median of 3 wall times per case after one warm-up round, all into one images directory (as DumpBenchmark: fresh
/// page cache on this VM costs the dump of 100 processes 0.3 s of waiting for writes by itself), the frozen time from
/// stats-dump, and the cost per process or thread: it must stay flat as the tree grows (linear total time).
/// </summary>
internal static class TreeBenchmark
{
    const int Repeats = 3, MiBPerProcess = 4;

    public static void Run()
    {
        if (Native.geteuid() != 0)
        {
            Console.WriteLine("skipped: dump and restore need root");
            return;
        }
        Native.prctl(Prctl.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); // restored trees come back to us: reap them
        var root = Paths.Root;
        var ferry = Environment.GetEnvironmentVariable("FERRY_BIN") ?? Path.Combine(root, "out", "ferry");
        var program = Path.Combine(root, "tests", "targets", "build", "bench_tree");
        foreach (int processes in new[] { 1, 10, 100 })
            Report($"tree of {processes,3} processes ({MiBPerProcess} MiB each)", processes, Measure(ferry, program, processes, 1));
        foreach (int threads in new[] { 1, 16, 256 })
            Report($"process with {threads,3} threads", threads, Measure(ferry, program, 1, threads));
    }

    static void Report(string what, int count, List<(double Dump, double Frozen, double Restore)> runs)
    {
        double dump = Median(runs.Select(r => r.Dump)), frozen = Median(runs.Select(r => r.Frozen)), restore = Median(runs.Select(r => r.Restore));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: dump {dump * 1000:F1} ms (frozen {frozen * 1000:F1} ms), restore {restore * 1000:F1} ms; " +
            $"per {(what.StartsWith("tree", StringComparison.Ordinal) ? "process" : "thread")}: dump {dump * 1000 / count:F2} ms, restore {restore * 1000 / count:F2} ms"));
    }

    static List<(double, double, double)> Measure(string ferry, string program, int processes, int threads)
    {
        var results = new List<(double, double, double)>();
        var images = Directory.CreateTempSubdirectory("ferry-bench-tree-").FullName;
        try
        {
            for (int i = 0; i <= Repeats; i++)
            {
                using var target = ReadyProgram.Start(program, $"{processes}", $"{threads}", $"{MiBPerProcess}");
                var pids = Tree(target.Pid);
                var clock = Stopwatch.StartNew();
                RunFerry(ferry, "dump", "-t", target.Pid.ToString(CultureInfo.InvariantCulture), "-D", images);
                double dump = clock.Elapsed.TotalSeconds;
                double frozen = ImageReader.ReadFile(Path.Combine(images, "stats-dump")).Entries[0].As<stats_entry>().Dump.FrozenTime / 1e6;
                target.WaitForExit(TimeSpan.FromSeconds(30));
                WaitUntilFree(pids);

                clock.Restart();
                RunFerry(ferry, "restore", "-D", images, "-d");
                double restore = clock.Elapsed.TotalSeconds;
                Native.kill(target.Pid, Signals.SIGKILL); // the children die with it (PR_SET_PDEATHSIG)
                WaitUntilFree(pids);
                if (i > 0) results.Add((dump, frozen, restore));
            }
        }
        finally
        {
            Directory.Delete(images, recursive: true);
        }
        return results;
    }

    static void RunFerry(string ferry, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(ferry, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"ferry {args[0]} failed: {error}");
    }

    static List<int> Tree(int pid) =>
        [pid, .. File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];

    static unsafe void WaitUntilFree(List<int> pids)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (int pid in pids)
            while (Directory.Exists($"/proc/{pid}"))
            {
                int status;
                Native.waitpid(pid, &status, Wait.WNOHANG | Wait.__WALL);
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"PID {pid} stays taken");
                Thread.Sleep(2);
            }
    }

    static double Median(IEnumerable<double> values) => values.Order().ElementAt(Repeats / 2);
}
