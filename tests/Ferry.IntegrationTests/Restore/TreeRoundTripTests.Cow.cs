using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

/// <summary>
/// Memory a child shares with its parent since the fork (cow_memory: 8 MiB the child partly rewrote and partly
/// dropped, 16 read-only pages it left alone): after the round trip every page the child did not touch is the very
/// physical page its parent has (same PFN in /proc/PID/pagemap, which root reads), every byte of both is what it was,
/// and a write in one is not seen by the other. With --cow-pages-once the child's images name those pages as the
/// parent's instead of holding them again.
/// </summary>
public sealed partial class TreeRoundTripTests
{
    const int CowMebibytes = 8, CowPages = CowMebibytes * 256, ReadonlyPages = 16;
    const ulong PfnMask = (1UL << 55) - 1, PagePresent = 1UL << 63;

    [RootTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pages_a_child_shares_with_its_parent_since_the_fork_are_shared_again_after_the_restore(bool pagesOnce)
    {
        using var target = DumpTarget.Start("cow_memory", passWorkDir: true, CowMebibytes.ToString());
        int parent = target.Pid, child = target.Value("child");
        ulong area = target.Address("area"), readonlyArea = target.Address("readonly");
        // The setting is real: before the dump the untouched pages are shared.
        Assert.Equal(Frames(parent, area, CowPages)[3], Frames(child, area, CowPages)[3]);

        RoundTrip(target, [], pagesOnce ? ["--cow-pages-once"] : []);
        try
        {
            AssertChildImages(target, child, area, pagesOnce);
            var parentFrames = Frames(parent, area, CowPages);
            var childFrames = Frames(child, area, CowPages);
            var parentBytes = ReadMemory(parent, area, CowPages);
            var childBytes = ReadMemory(child, area, CowPages);
            for (int i = 0; i < CowPages; i++)
            {
                byte pattern = (byte)(i % 251 + 1);
                AssertPage(parentBytes, i, pattern, $"parent page {i}");
                bool changed = i % 4 == 0, dropped = i % 8 == 1;
                AssertPage(childBytes, i, changed ? (byte)(0xC0 | (i & 0x3f)) : dropped ? (byte)0 : pattern, $"child page {i}");
                if (changed || dropped)
                    Assert.True(childFrames[i] != parentFrames[i], $"child page {i} is its own, yet the same page as the parent's");
                else
                    Assert.True(childFrames[i] == parentFrames[i] && childFrames[i] != 0,
                        $"child page {i} is not shared with the parent: PFN 0x{childFrames[i]:x}, parent's 0x{parentFrames[i]:x}");
            }
            // Read-only pages the child never touched: shared too, their protection back.
            Assert.Equal(Frames(parent, readonlyArea, ReadonlyPages), Frames(child, readonlyArea, ReadonlyPages));
            var readonlyBytes = ReadMemory(child, readonlyArea, ReadonlyPages);
            for (int i = 0; i < ReadonlyPages; i++)
                AssertPage(readonlyBytes, i, (byte)(i % 251 + 101), $"child read-only page {i}");
            Assert.Contains(File.ReadLines($"/proc/{child}/maps"), line => line.StartsWith($"{readonlyArea:x}-") && line.Contains(" r--p "));

            // Copy-on-write still: the parent's write gives it its own page, the child keeps the old one.
            LibC.kill(parent, SIGUSR1);
            Poll.Until(() => File.Exists(Path.Combine(target.WorkDir, "written")), "the parent's write");
            AssertPage(ReadMemory(parent, area + 2 * 4096, 1), 0, 0xEE, "parent page 2 after its write");
            AssertPage(ReadMemory(child, area + 2 * 4096, 1), 0, 3, "child page 2 after the parent's write");
            Assert.NotEqual(Frames(parent, area + 2 * 4096, 1)[0], Frames(child, area + 2 * 4096, 1)[0]);
        }
        finally
        {
            Kill(parent);
        }
    }

    [RootFact]
    public void Pages_marked_as_the_parents_in_a_VMA_the_child_did_not_inherit_are_refused_in_one_line_and_nothing_is_left()
    {
        using var target = DumpTarget.Start("cow_memory", passWorkDir: true, "1");
        int parent = target.Pid, child = target.Value("child");
        ulong area = target.Address("area");
        var dump = target.Dump(["--cow-pages-once"]);
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        CriuVector.WaitUntilGone(parent);
        CriuVector.WaitUntilGone(child);
        // The child's area now differs from the parent's (read-only), so the pages marked as the parent's have no home.
        var mmPath = target.Image($"mm-{child}.img");
        var mm = Dump.Images.Single<mm_entry>(mmPath);
        mm.Vmas.Single(v => v.Start == area).Prot = 1;
        using (var writer = ImageWriter.Create(mmPath, ImageKinds.Mm))
            writer.Write(mm);

        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d");

        Assert.Equal(1, restore.ExitCode);
        var line = Assert.Single(restore.StdErr.TrimEnd('\n').Split('\n'));
        Assert.Contains($"pagemap-{child}.img marks the pages at 0x{area + 2 * 4096:x}-", line); // page 0 is the child's own, page 1 dropped
        Assert.Contains($"no VMA there is inherited from process {parent}", line);
        Assert.False(CriuVector.Exists(parent) || CriuVector.Exists(child), "a process is left after the refused restore");
    }

    /// <summary>
    /// The child's pagemap lists the big area's untouched pages as the parent's (--cow-pages-once) or as its own
    /// present pages (CRIU's way), and its pages image holds what it must.
    /// </summary>
    static void AssertChildImages(DumpTarget target, int child, ulong area, bool pagesOnce)
    {
        using var pages = PageMap.Open(target.Image($"pagemap-{child}.img"));
        ulong end = area + CowPages * 4096UL;
        ulong inParent = 0, present = 0;
        foreach (var run in pages.Runs)
        {
            ulong from = Math.Max(run.Address, area), to = Math.Min(run.End, end);
            if (from >= to) continue;
            if (run.IsPresent) present += (to - from) / 4096;
            else if ((run.Flags & (PageMapFlags)0x10001) == (PageMapFlags)0x10001) inParent += (to - from) / 4096;
        }
        ulong changed = CowPages / 4, untouched = CowPages - changed - CowPages / 8;
        Assert.Equal(pagesOnce ? (changed, untouched) : (changed + untouched, 0UL), (present, inParent));
    }

    static void AssertPage(byte[] bytes, int page, byte expected, string what)
    {
        var span = bytes.AsSpan(page * 4096, 4096);
        int wrong = span.IndexOfAnyExcept(expected);
        Assert.True(wrong < 0, $"{what}: byte {wrong} is 0x{(wrong < 0 ? 0 : span[wrong]):x2}, expected 0x{expected:x2}");
    }

    /// <summary>The page frame of each page from <paramref name="address"/>, 0 for a page not present.</summary>
    static ulong[] Frames(int pid, ulong address, int pages)
    {
        var raw = new byte[pages * 8];
        using (var pagemap = File.OpenHandle($"/proc/{pid}/pagemap"))
            Assert.Equal(raw.Length, RandomAccess.Read(pagemap, raw, (long)(address / 4096 * 8)));
        return Enumerable.Range(0, pages).Select(i => BitConverter.ToUInt64(raw, i * 8))
            .Select(entry => (entry & PagePresent) != 0 ? entry & PfnMask : 0).ToArray();
    }

    static byte[] ReadMemory(int pid, ulong address, int pages)
    {
        var bytes = new byte[pages * 4096];
        using var memory = File.OpenHandle($"/proc/{pid}/mem");
        for (int done = 0; done < bytes.Length;)
        {
            int n = RandomAccess.Read(memory, bytes.AsSpan(done), (long)address + done);
            Assert.True(n > 0, $"cannot read the memory of {pid} at 0x{address + (ulong)done:x}");
            done += n;
        }
        return bytes;
    }
}
