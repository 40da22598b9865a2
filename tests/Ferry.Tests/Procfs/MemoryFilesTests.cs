using Xunit;
using System.Runtime.InteropServices;
using System.Text;
using Ferry.Procfs;

namespace Ferry.Tests.Procfs;

public unsafe class MemoryFilesTests
{
    [Fact]
    public void PagemapSeesExactlyTheTouchedPages()
    {
        const int pages = 64;
        byte* memory = (byte*)NativeMemory.AlignedAlloc(pages * 4096, 4096);
        try
        {
            // Give the range back to the kernel so untouched pages are really absent, then touch every third page.
            Assert.Equal(0, Madvise(memory, pages * 4096, 4 /* MADV_DONTNEED */));
            for (int i = 0; i < pages; i += 3) memory[i * 4096] = 1;
            using var reader = new PagemapReader(Environment.ProcessId);
            Span<ulong> entries = stackalloc ulong[pages];
            Assert.Equal(pages, reader.Read((ulong)memory, entries));
            for (int i = 0; i < pages; i++)
            {
                Assert.Equal(i % 3 == 0, PagemapBits.IsPresent(entries[i]));
                if (i % 3 == 0)
                {
                    Assert.True(PagemapBits.IsExclusive(entries[i]));
                    Assert.False(PagemapBits.IsFileOrSharedAnon(entries[i]));
                    Assert.NotEqual(0UL, PagemapBits.Pfn(entries[i])); // we run as root
                }
            }
            Assert.Equal(entries.ToArray(), reader.Read((ulong)memory, (ulong)memory + pages * 4096));
            Assert.Throws<ArgumentException>(() => reader.Read((ulong)memory + 1, new ulong[1].AsSpan()));
        }
        finally { NativeMemory.AlignedFree(memory); }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    static extern int Madvise(void* address, nuint length, int advice);

    [Fact]
    public void SmapsHasOneEntryPerMapWithFlagsAndSizes()
    {
        using var sleep = new SleepProcess();
        var maps = ProcMaps.Read(sleep.Pid);
        var smaps = ProcSmaps.Read(sleep.Pid);
        Assert.Equal(maps, smaps.Select(s => s.Map));
        var stack = smaps.Single(s => s.Map.Kind == MapKind.Stack);
        Assert.True(stack.Flags.HasFlag(VmFlags.rd | VmFlags.wr | VmFlags.gd));
        Assert.True(stack.Rss > 0 && stack.Anonymous > 0 && stack.Rss % 4096 == 0);
        Assert.Contains("gd", stack.RawVmFlags.Split(' '));
        var vdso = smaps.Single(s => s.Map.Kind == MapKind.Vdso);
        Assert.True(vdso.Flags.HasFlag(VmFlags.ex));
        Assert.False(vdso.Flags.HasFlag(VmFlags.wr));
    }

    [Fact]
    public void SmapsParsesMadviseFlags()
    {
        const string text = "7f0000000000-7f0000200000 rw-p 00000000 00:00 0 \nSize:               2048 kB\n" +
            "Rss:                 12 kB\nAnonymous:           8 kB\nAnonHugePages:       0 kB\nSwap:                4 kB\n" +
            "THPeligible:    1\nVmFlags: rd wr mr mw me dd ac hg wf mg zz \n" +
            "7f0000200000-7f0000201000 r--p 00000000 00:00 0 \nRss:                 0 kB\nVmFlags: rd nh \n";
        var smaps = ProcSmaps.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal(2, smaps.Count);
        var first = smaps[0];
        Assert.Equal((12UL * 1024, 8UL * 1024, 4UL * 1024, true), (first.Rss, first.Anonymous, first.Swap, first.ThpEligible));
        Assert.Equal(VmFlags.rd | VmFlags.wr | VmFlags.mr | VmFlags.mw | VmFlags.me | VmFlags.dd | VmFlags.ac
            | VmFlags.hg | VmFlags.wf | VmFlags.mg, first.Flags);
        Assert.Contains("zz", first.RawVmFlags);
        Assert.Equal(VmFlags.rd | VmFlags.nh, smaps[1].Flags);
    }

    [Fact]
    public void AuxvOfSleepHasPageSizeEntryAndVdso()
    {
        using var sleep = new SleepProcess();
        var auxv = ProcAuxv.Read(sleep.Pid);
        Assert.Contains(new AuxvEntry(AuxvEntry.AT_PAGESZ, 4096), auxv);
        var vdso = ProcMaps.Read(sleep.Pid).Single(m => m.Kind == MapKind.Vdso);
        Assert.Contains(new AuxvEntry(AuxvEntry.AT_SYSINFO_EHDR, vdso.Start), auxv);
        var words = ProcAuxv.ReadWords(sleep.Pid);
        Assert.Equal(0UL, words[^2]);
        Assert.True(words.Length >= auxv.Count * 2 + 2);
    }
}
