using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Restore;

namespace Ferry.Bench;

/// <summary>
/// Restore time of a tiny process and of processes with 64 MiB, 512 MiB and 2 GiB of dumped anonymous memory.
/// The image sets are CRIU's counter-static set (shared/testdata) with one extra anonymous VMA and its pages; each
/// restore runs the engine in this process (-d), the restored counter is then killed. Median of 3, GB/s = 10^9 B/s.
/// CRIU 4.2 on this machine kind: 0.35 s for 512 MiB, 1.3 s for 2 GiB.
/// </summary>
internal static partial class RestoreBenchmark
{
    const int Pid = 30100;
    const ulong ExtraArea = 0x7e00_0000_0000;
    const int Repeats = 3;

    public static void Run()
    {
        if (Native.geteuid() != 0)
        {
            Console.WriteLine("skipped: restore needs root");
            return;
        }
        string? vector = LocateVector();
        if (vector is null)
        {
            Console.WriteLine("skipped: shared/testdata/criu-4.2/counter-static not found (set FERRY_SHARED)");
            return;
        }
        RunScript(Path.Combine(vector, "setup.sh"));
        string parent = Environment.GetEnvironmentVariable("FERRY_BENCH_DIR") ?? Path.GetTempPath();

        foreach (long size in new long[] { 0, 64L << 20, 512L << 20, 2L << 30 })
        {
            string dir = Directory.CreateDirectory(Path.Combine(parent, $"ferry-bench-restore-{Environment.ProcessId}-{size}")).FullName;
            try
            {
                MakeImages(Path.Combine(vector, "images"), dir, size);
                var times = new List<double>();
                for (int i = 0; i < Repeats; i++)
                    times.Add(RestoreOnce(dir));
                double median = times.Order().ElementAt(Repeats / 2);
                string what = size == 0 ? "tiny process (counter-static, 17 pages)" : $"{size >> 20,5} MiB anonymous memory";
                string rate = size == 0 ? "" : $", {size / median / 1e9:F2} GB/s";
                Console.WriteLine($"restore {what}: median {median * 1000:F1} ms{rate} (runs: {string.Join(", ", times.Select(t => $"{t * 1000:F1}"))} ms)");
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    static double RestoreOnce(string images)
    {
        WaitUntilFree(Pid);
        var watch = Stopwatch.StartNew();
        using var tree = new RestoreEngine(new RestoreRequest(images) { Detach = true }, Log.Quiet).Run();
        int pid = tree.RootPid;
        double seconds = watch.Elapsed.TotalSeconds;
        Native.kill(pid, Signals.SIGKILL);
        WaitUntilFree(pid);
        return seconds;
    }

    /// <summary>The set with one more anonymous read-write VMA of <paramref name="size"/> bytes, all of its pages dumped.</summary>
    static void MakeImages(string source, string target, long size)
    {
        foreach (var file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        if (size == 0)
            return;
        string mmPath = Path.Combine(target, $"mm-{Pid}.img");
        var mm = (mm_entry)ImageReader.ReadFile(mmPath).Entries[0].Message;
        var area = new vma_entry
        {
            Start = ExtraArea, End = ExtraArea + (ulong)size, Pgoff = 0, Shmid = 0, Prot = 3, Flags = 0x22,
            Status = Vma.Regular | Vma.AnonPrivate, Fd = -1,
        };
        int at = mm.Vmas.TakeWhile(v => v.Start < ExtraArea).Count();
        mm.Vmas.Insert(at, area);
        File.Delete(mmPath);
        ImageWriter.WriteFile(mmPath, ImageKinds.Mm, [mm]);

        string pagemapPath = Path.Combine(target, $"pagemap-{Pid}.img");
        var entries = ImageReader.ReadFile(pagemapPath).Entries.Select(e => e.Message).ToList();
        var runs = entries.Skip(1).Cast<pagemap_entry>().ToList();
        int before = runs.TakeWhile(r => r.Vaddr < ExtraArea).Count();
        long splitOffset = runs.Take(before).Sum(r => (long)r.NrPages * 4096);
        entries.Insert(1 + before, new pagemap_entry { Vaddr = ExtraArea, NrPages = (ulong)size / 4096, CompatNrPages = 0, Flags = 4 });
        File.Delete(pagemapPath);
        ImageWriter.WriteFile(pagemapPath, ImageKinds.Pagemap, entries);

        string pagesPath = Path.Combine(target, "pages-1.img");
        byte[] old = File.ReadAllBytes(pagesPath);
        using var pages = new FileStream(pagesPath, FileMode.Create, FileAccess.Write);
        pages.Write(old, 0, (int)splitOffset);
        var block = new byte[1 << 20];
        for (long done = 0; done < size; done += block.Length)
        {
            Array.Fill(block, (byte)(done >> 20));
            pages.Write(block);
        }
        pages.Write(old, (int)splitOffset, old.Length - (int)splitOffset);
    }

    static unsafe void WaitUntilFree(int pid)
    {
        Native.prctl(Prctl.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Directory.Exists($"/proc/{pid}"))
        {
            int status;
            Native.waitpid(pid, &status, Wait.WNOHANG | Wait.__WALL);
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"PID {pid} stays taken");
            Thread.Sleep(10);
        }
    }

    static string? LocateVector()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FERRY_SHARED");
        var roots = new List<string>();
        if (!string.IsNullOrEmpty(fromEnv)) roots.Add(fromEnv);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            roots.Add(Path.Combine(dir.FullName, "shared"));
        return roots.Select(r => Path.Combine(r, "testdata", "criu-4.2", "counter-static")).FirstOrDefault(Directory.Exists);
    }

    static void RunScript(string path)
    {
        using var process = Process.Start(new ProcessStartInfo(path) { RedirectStandardOutput = true })!;
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{path} failed");
    }

    /// <summary>The few libc calls the benchmark needs (Ferry's own interop is internal to the library).</summary>
    static partial class Native
    {
        [System.Runtime.InteropServices.LibraryImport("libc")]
        public static partial uint geteuid();

        [System.Runtime.InteropServices.LibraryImport("libc")]
        public static partial int kill(int pid, int signal);

        [System.Runtime.InteropServices.LibraryImport("libc")]
        public static unsafe partial int waitpid(int pid, int* status, int options);

        [System.Runtime.InteropServices.LibraryImport("libc")]
        public static partial int prctl(int option, nuint a2, nuint a3, nuint a4, nuint a5);
    }
}
