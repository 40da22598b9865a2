using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Images;

public sealed class PageMapTests
{
    public static IEnumerable<object[]> Pagemaps() =>
        TestVectors.ImageFiles()
            .Where(p => Path.GetFileName(p).StartsWith("pagemap-", StringComparison.Ordinal))
            .Select(p => new object[] { Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(p)))!, Path.GetFileName(p) });

    [SharedDataTheory]
    [MemberData(nameof(Pagemaps))]
    public void ReadingByAddressMatchesTheRawPagesFile(string caseName, string file)
    {
        var (pagesId, expected) = RawRuns(TestVectors.PathOf(caseName, file));
        byte[] raw = File.ReadAllBytes(TestVectors.PathOf(caseName, ImageNames.Pages(pagesId)));
        using var map = PageMap.Open(TestVectors.PathOf(caseName, file));

        Assert.Equal(pagesId, map.PagesId);
        Assert.Equal(raw.Length, map.PresentBytes);
        Assert.Equal(expected.Count, map.Runs.Length);
        foreach (var (address, bytes, offset) in expected)
        {
            byte[] whole = new byte[bytes];
            Assert.Equal(bytes, map.Read(address, whole));
            Assert.Equal(raw.AsSpan(offset, bytes).ToArray(), whole);

            // An unaligned read in the middle of the run, crossing a page boundary.
            int start = Math.Min(100, bytes - 1), length = Math.Min(5000, bytes - start);
            byte[] part = new byte[length];
            Assert.Equal(length, map.Read(address + (ulong)start, part));
            Assert.Equal(raw.AsSpan(offset + start, length).ToArray(), part);
        }
    }

    [SharedDataTheory]
    [MemberData(nameof(Pagemaps))]
    public void ReadsStopAtTheEdgeOfPresentData(string caseName, string file)
    {
        using var map = PageMap.Open(TestVectors.PathOf(caseName, file));
        PageRun last = map.Runs[^1];

        Assert.Equal(0, map.Read(last.End, new byte[4096]));
        Assert.Equal(0, map.Read(map.Runs[0].Address - 4096, new byte[4096]));
        byte[] beyond = new byte[8192];
        Assert.Equal(4096, map.Read(last.End - 4096, beyond));
    }

    [SharedDataTheory]
    [MemberData(nameof(Pagemaps))]
    public void SequentialReadDeliversThePagesFileInPagemapOrder(string caseName, string file)
    {
        var (pagesId, expected) = RawRuns(TestVectors.PathOf(caseName, file));
        byte[] raw = File.ReadAllBytes(TestVectors.PathOf(caseName, ImageNames.Pages(pagesId)));
        using var map = PageMap.Open(TestVectors.PathOf(caseName, file));

        var seen = new MemoryStream();
        var addresses = new List<(ulong, int)>();
        // A small chunk size forces pieces to be split at chunk and run boundaries alike.
        map.ReadAll((address, data) => { addresses.Add((address, data.Length)); seen.Write(data); }, chunkSize: 3 * 4096);

        Assert.Equal(raw, seen.ToArray());
        ulong expectedAddress = 0;
        int runIndex = 0, intoRun = 0;
        foreach (var (address, length) in addresses)
        {
            expectedAddress = expected[runIndex].Address + (ulong)intoRun;
            Assert.Equal(expectedAddress, address);
            intoRun += length;
            Assert.True(intoRun <= expected[runIndex].Bytes);
            if (intoRun == expected[runIndex].Bytes)
                (runIndex, intoRun) = (runIndex + 1, 0);
        }
        Assert.Equal(expected.Count, runIndex);
    }

    [SharedDataTheory]
    [MemberData(nameof(Pagemaps))]
    public void PagesWriterReproducesCriusPagesAndPagemapByteForByte(string caseName, string file)
    {
        string pagemapPath = TestVectors.PathOf(caseName, file);
        using var map = PageMap.Open(pagemapPath);
        using var temp = new TempDirectory();
        int pid = int.Parse(file["pagemap-".Length..^".img".Length]);

        using (var writer = PagesWriter.Create(temp.Path, pid, map.PagesId))
        {
            foreach (PageRun run in map.Runs.ToArray())
            {
                byte[] data = new byte[run.Length];
                map.Read(run.Address, data);
                writer.AddPresent(run.Address, data, run.Flags & ~PageMapFlags.Present);
            }
            writer.Complete();
        }

        Assert.Equal(File.ReadAllBytes(pagemapPath), File.ReadAllBytes(Path.Combine(temp.Path, file)));
        Assert.Equal(File.ReadAllBytes(TestVectors.PathOf(caseName, ImageNames.Pages(map.PagesId))),
            File.ReadAllBytes(Path.Combine(temp.Path, ImageNames.Pages(map.PagesId))));
    }

    [Fact]
    public void PagesWriterExtendsRunsOnRequestAndKeepsAbsentOnes()
    {
        using var temp = new TempDirectory();
        var random = new Random(7);
        byte[] small = new byte[4096], large = new byte[5 << 20];
        random.NextBytes(small);
        random.NextBytes(large);

        using (var writer = PagesWriter.Create(temp.Path, 42, 3, bufferSize: 1 << 20))
        {
            writer.AddPresent(0x10000, small);
            writer.ExtendRun(small);
            writer.AddAbsent(0x20000, 2, PageMapFlags.Parent);
            writer.AddPresent(0x40000, large, PageMapFlags.Lazy);  // larger than the buffer: written directly
            writer.AddPresent(0x40000 + (ulong)large.Length, small);  // adjacent, but a run of its own
            writer.Complete();
        }

        using var map = PageMap.Open(Path.Combine(temp.Path, "pagemap-42.img"));
        Assert.Equal(
        [
            new PageRun(0x10000, 2, PageMapFlags.Present, 0),
            new PageRun(0x20000, 2, PageMapFlags.Parent, -1),
            new PageRun(0x40000, 1280, PageMapFlags.Present | PageMapFlags.Lazy, 8192),
            new PageRun(0x40000 + (ulong)large.Length, 1, PageMapFlags.Present, 8192 + large.Length),
        ], map.Runs.ToArray());
        byte[] back = new byte[large.Length + 4096];
        Assert.Equal(back.Length, map.Read(0x40000, back));
        Assert.Equal(large, back[..large.Length]);
        Assert.Equal(small, back[large.Length..]);
        Assert.Throws<ImageFormatException>(() => map.Read(0x20000, new byte[4096]));   // PE_PARENT, but no parent dump
        Assert.Equal(ImageWriter.FileMode, FileModes.Of(Path.Combine(temp.Path, "pages-3.img")));
        Assert.Equal(ImageWriter.FileMode, FileModes.Of(Path.Combine(temp.Path, "pagemap-42.img")));
    }

    [Fact]
    public void ParentPagesAreReadThroughTheParentLink()
    {
        using var temp = new TempDirectory();
        string parentDir = Path.Combine(temp.Path, "pre"), childDir = Path.Combine(temp.Path, "dump");
        Directory.CreateDirectory(parentDir);
        Directory.CreateDirectory(childDir);
        Directory.CreateSymbolicLink(Path.Combine(childDir, PageMap.ParentLink), "../pre");
        byte[] old = Filled(3 * 4096, 0xAA), fresh = Filled(4096, 0x55);
        using (var writer = PagesWriter.Create(parentDir, 8, 1))
        {
            writer.AddPresent(0x10000, old);
            writer.Complete();
        }
        using (var writer = PagesWriter.Create(childDir, 8, 1))
        {
            writer.AddAbsent(0x10000, 2, PageMapFlags.Parent);
            writer.AddPresent(0x12000, fresh);
            writer.Complete();
        }

        using var map = PageMap.Open(Path.Combine(childDir, "pagemap-8.img"));
        byte[] memory = new byte[3 * 4096];

        Assert.Equal(memory.Length, map.Read(0x10000, memory));
        Assert.Equal([.. old[..8192], .. fresh], memory);
    }

    [Fact]
    public void ParentLinkLoopIsRejected()
    {
        using var temp = new TempDirectory();
        Directory.CreateSymbolicLink(Path.Combine(temp.Path, PageMap.ParentLink), ".");
        using (var writer = PagesWriter.Create(temp.Path, 8, 1))
        {
            writer.AddAbsent(0x10000, 1, PageMapFlags.Parent);
            writer.Complete();
        }

        using var map = PageMap.Open(Path.Combine(temp.Path, "pagemap-8.img"));
        var error = Assert.Throws<ImageFormatException>(() => map.Read(0x10000, new byte[4096]));
        Assert.Contains("parent", error.Message);
    }

    private static byte[] Filled(int length, byte value)
    {
        byte[] bytes = new byte[length];
        bytes.AsSpan().Fill(value);
        return bytes;
    }

    [Fact]
    public void PagesWriterRejectsDescendingOrPartialPages()
    {
        using var temp = new TempDirectory();
        using var writer = PagesWriter.Create(temp.Path, 1, 1);
        writer.AddPresent(0x20000, new byte[4096]);
        Assert.Throws<ArgumentException>(() => writer.AddPresent(0x10000, new byte[4096]));
        Assert.Throws<ArgumentException>(() => writer.AddPresent(0x30000, new byte[100]));
        Assert.Throws<ArgumentException>(() => writer.AddPresent(0x30001, new byte[4096]));
        writer.AddAbsent(0x40000, 1, PageMapFlags.Lazy);
        Assert.Throws<InvalidOperationException>(() => writer.ExtendRun(new byte[4096]));
    }

    [Fact]
    public void PagesFileOfTheWrongSizeIsRejected()
    {
        using var temp = new TempDirectory();
        using (var writer = PagesWriter.Create(temp.Path, 5, 1))
        {
            writer.AddPresent(0x10000, new byte[8192]);
            writer.Complete();
        }
        File.WriteAllBytes(Path.Combine(temp.Path, "pages-1.img"), new byte[4096]);

        var error = Assert.Throws<ImageFormatException>(() => PageMap.Open(Path.Combine(temp.Path, "pagemap-5.img")));
        Assert.Contains("pages-1.img", error.Message);
    }

    [Fact]
    public void MissingPagesFileIsRejected()
    {
        using var temp = new TempDirectory();
        using (var writer = PagesWriter.Create(temp.Path, 5, 1))
        {
            writer.AddPresent(0x10000, new byte[4096]);
            writer.Complete();
        }
        File.Delete(Path.Combine(temp.Path, "pages-1.img"));

        Assert.Throws<ImageFormatException>(() => PageMap.Open(Path.Combine(temp.Path, "pagemap-5.img")));
    }

    [Fact]
    public void OverlappingRunsAreRejected()
    {
        using var temp = new TempDirectory();
        ImageWriter.WriteFile(Path.Combine(temp.Path, "pagemap-9.img"), ImageKinds.Pagemap,
        [
            new pagemap_head { PagesId = 1 },
            new pagemap_entry { Vaddr = 0x10000, CompatNrPages = 0, Flags = 4, NrPages = 2 },
            new pagemap_entry { Vaddr = 0x11000, CompatNrPages = 0, Flags = 4, NrPages = 1 },
        ]);
        File.WriteAllBytes(Path.Combine(temp.Path, "pages-1.img"), new byte[3 * 4096]);

        var error = Assert.Throws<ImageFormatException>(() => PageMap.Open(Path.Combine(temp.Path, "pagemap-9.img")));
        Assert.Contains("ascending", error.Message);
    }

    [Fact]
    public void OldPagemapsWithoutFlagsOrNrPagesAreUnderstood()
    {
        using var temp = new TempDirectory();
        ImageWriter.WriteFile(Path.Combine(temp.Path, "pagemap-9.img"), ImageKinds.Pagemap,
        [
            new pagemap_head { PagesId = 1 },
            new pagemap_entry { Vaddr = 0x10000, CompatNrPages = 2 },
            new pagemap_entry { Vaddr = 0x20000, CompatNrPages = 1, InParent = true },
        ]);
        File.WriteAllBytes(Path.Combine(temp.Path, "pages-1.img"), new byte[2 * 4096]);

        using var map = PageMap.Open(Path.Combine(temp.Path, "pagemap-9.img"));
        Assert.Equal([new PageRun(0x10000, 2, PageMapFlags.Present, 0), new PageRun(0x20000, 1, PageMapFlags.Parent, -1)],
            map.Runs.ToArray());
    }

    [SharedDataFact]
    public void MutatedPagemapsGiveImageFormatExceptionOrReadablePages()
    {
        string images = TestVectors.ImagesOf("pipe-tree");
        using var temp = new TempDirectory();
        File.Copy(Path.Combine(images, "pages-1.img"), Path.Combine(temp.Path, "pages-1.img"));
        File.Copy(Path.Combine(images, "pages-2.img"), Path.Combine(temp.Path, "pages-2.img"));
        byte[] original = File.ReadAllBytes(Path.Combine(images, "pagemap-30400.img"));
        string target = Path.Combine(temp.Path, "pagemap-1.img");
        var random = new Random(99);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int opened = 0, rejected = 0;
        for (int i = 0; i < 3000 && clock.Elapsed < TimeSpan.FromSeconds(2); i++)
        {
            File.WriteAllBytes(target, ImageValidationTests.Mutate(original, random));
            try
            {
                using var map = PageMap.Open(target);
                long total = 0;
                map.ReadAll((_, data) => total += data.Length);
                Assert.Equal(map.PresentBytes, total);
                opened++;
            }
            catch (ImageFormatException)
            {
                rejected++;
            }
        }
        Assert.True(rejected > 0 && opened + rejected >= 100, $"{opened} opened, {rejected} rejected");
    }

    /// <summary>The runs of a pagemap computed independently: (address, bytes, offset in the pages file) of present runs.</summary>
    private static (uint PagesId, List<(ulong Address, int Bytes, int Offset)> Runs) RawRuns(string pagemapPath)
    {
        var image = ImageReader.ReadFile(pagemapPath);
        var runs = new List<(ulong, int, int)>();
        int offset = 0;
        foreach (var entry in image.Entries.Skip(1).Select(e => e.As<pagemap_entry>()))
        {
            int bytes = checked((int)entry.NrPages * 4096);
            Assert.True((entry.Flags & 4) != 0, "CRIU 4.2 vectors have only present runs");
            runs.Add((entry.Vaddr, bytes, offset));
            offset += bytes;
        }
        return (image.Entries[0].As<pagemap_head>().PagesId, runs);
    }
}
