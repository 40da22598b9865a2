using System.Buffers.Binary;
using System.Diagnostics;
using Ferry.Images;

namespace Ferry.Bench;

/// <summary>
/// Writes a 2 GiB memory image (pagemap + pages) with PagesWriter, then reads every page back through PageMap from
/// the page cache: the sequential path (ReadAll) and the by-address path (Read per run). Prints GB/s (10^9 bytes).
/// </summary>
internal static class DecodeBenchmark
{
    private const long TotalBytes = 2L << 30;
    private const int Pid = 4242;
    private const int Repeats = 3;

    public static void Run()
    {
        // FERRY_BENCH_DIR picks the file system (default: the temp directory).
        string parent = Environment.GetEnvironmentVariable("FERRY_BENCH_DIR") ?? Path.GetTempPath();
        string dir = Directory.CreateDirectory(Path.Combine(parent, $"ferry-bench-decode-{Environment.ProcessId}")).FullName;
        try
        {
            var runs = MakeRuns();
            double write = Measure(() => Write(dir, runs), TotalBytes, out _);
            Console.WriteLine($"write (PagesWriter, {runs.Count} runs, 1 MiB appends): {write:F2} GB/s");

            ulong expected = ExpectedChecksum(runs);
            using var map = PageMap.Open(Path.Combine(dir, $"pagemap-{Pid}.img"));
            Check(map.PresentBytes == TotalBytes, "pages size");

            var sequential = new List<double>();
            var byAddress = new List<double>();
            for (int i = 0; i < Repeats; i++)
            {
                sequential.Add(Measure(() => ReadSequential(map), TotalBytes, out ulong sum1));
                Check(sum1 == expected, "sequential checksum");
                byAddress.Add(Measure(() => ReadByAddress(map), TotalBytes, out ulong sum2));
                Check(sum2 == expected, "by-address checksum");
            }
            Console.WriteLine($"read  (PageMap.ReadAll, sequential, 8 MiB chunks): best {sequential.Max():F2} GB/s, median {Median(sequential):F2} GB/s");
            Console.WriteLine($"read  (PageMap.Read by address, 8 MiB buffer):     best {byAddress.Max():F2} GB/s, median {Median(byAddress):F2} GB/s");
            Console.WriteLine($"target: >= 2 GB/s from page cache: {(Median(sequential) >= 2 ? "met" : "NOT met")}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs of 1..1024 pages (sizes from a fixed seed) separated by holes, adding up to TotalBytes.</summary>
    private static List<(ulong Address, long Bytes)> MakeRuns()
    {
        var random = new Random(1);
        var runs = new List<(ulong, long)>();
        ulong address = 0x400000;
        long left = TotalBytes;
        while (left > 0)
        {
            long bytes = Math.Min(left, 4096L * (1 + random.Next(1024)));
            runs.Add((address, bytes));
            address += (ulong)bytes + 4096UL * (ulong)(1 + random.Next(16));
            left -= bytes;
        }
        return runs;
    }

    /// <summary>Each page starts with its own address, so reads can be checked without storing 2 GiB.</summary>
    private static ulong Write(string dir, List<(ulong Address, long Bytes)> runs)
    {
        byte[] block = new byte[1 << 20];
        using var writer = PagesWriter.Create(dir, Pid, pagesId: 1);
        foreach (var (address, bytes) in runs)
        {
            for (long done = 0; done < bytes; done += block.Length)
            {
                int count = (int)Math.Min(block.Length, bytes - done);
                for (int page = 0; page < count; page += 4096)
                    BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(page), address + (ulong)done + (ulong)page);
                if (done == 0)
                    writer.AddPresent(address, block.AsSpan(0, count));
                else
                    writer.ExtendRun(block.AsSpan(0, count));
            }
        }
        writer.Complete();
        return 0;
    }

    private static ulong ExpectedChecksum(List<(ulong Address, long Bytes)> runs)
    {
        ulong sum = 0;
        foreach (var (address, bytes) in runs)
            for (long page = 0; page < bytes; page += 4096)
                sum += address + (ulong)page;
        return sum;
    }

    private static ulong ReadSequential(PageMap map)
    {
        ulong sum = 0;
        map.ReadAll((address, data) =>
        {
            for (int page = 0; page < data.Length; page += 4096)
                sum += BinaryPrimitives.ReadUInt64LittleEndian(data[page..]);
        });
        return sum;
    }

    private static ulong ReadByAddress(PageMap map)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(PageMap.DefaultChunkSize);
        ulong sum = 0;
        foreach (PageRun run in map.Runs)
        {
            for (ulong done = 0; done < run.Length; done += (ulong)buffer.Length)
            {
                int got = map.Read(run.Address + done, buffer.AsSpan(0, (int)Math.Min((ulong)buffer.Length, run.Length - done)));
                for (int page = 0; page < got; page += 4096)
                    sum += BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(page));
            }
        }
        return sum;
    }

    private static double Measure(Func<ulong> action, long bytes, out ulong result)
    {
        var clock = Stopwatch.StartNew();
        result = action();
        return bytes / clock.Elapsed.TotalSeconds / 1e9;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static void Check(bool condition, string what)
    {
        if (!condition)
            throw new InvalidOperationException($"benchmark self-check failed: {what}");
    }
}
