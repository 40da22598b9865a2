using Xunit;
using System.Text;
using Ferry.Procfs;

namespace Ferry.Tests.Procfs;

public class MapsTests
{
    [Fact]
    public void SelfMapsHaveStackVdsoAndOrderedNonOverlappingEntries()
    {
        var maps = ProcMaps.Read(Environment.ProcessId);
        Assert.Contains(maps, m => m.Kind == MapKind.Stack && m.IsReadable && m.IsWritable);
        Assert.Contains(maps, m => m.Kind == MapKind.Vdso && m.IsExecutable);
        Assert.Contains(maps, m => m.Kind == MapKind.File && m.Path.EndsWith("libcoreclr.so") && m.Inode != 0);
        for (int i = 1; i < maps.Count; i++) Assert.True(maps[i - 1].End <= maps[i].Start);
        Assert.InRange(maps.Count, File.ReadAllLines("/proc/self/maps").Length - 64, File.ReadAllLines("/proc/self/maps").Length + 64);
    }

    [Fact]
    public void SleepMapsShowItsExecutableWithDeviceAndOffset()
    {
        using var sleep = new SleepProcess();
        var maps = ProcMaps.Read(sleep.Pid);
        var exe = maps.Where(m => m.Path == "/usr/bin/sleep").ToList();
        Assert.NotEmpty(exe);
        Assert.Equal(0UL, exe[0].Offset);
        Assert.Contains(exe, m => m.IsExecutable && m.Offset > 0);
        Assert.All(exe, m => Assert.False(m.Shared));
        Assert.Contains(maps, m => m.Kind == MapKind.Heap || m.Kind == MapKind.Stack);
    }

    [Fact]
    public void ParsesSpecialNamesDeletedPathsAndHugeAddresses()
    {
        const string text =
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n" +
            "7ffd1000-7ffd5000 r--p 00000000 00:00 0                          [vvar]\n" +
            "7ffd5000-7ffd7000 r--p 00000000 00:00 0                          [vvar_vclock]\n" +
            "7f0000000000-7f0000001000 rw-s 000ab000 fe:01 123456789012     /tmp/a b (deleted)\n" +
            "7f0000001000-7f0000002000 rw-p 00000000 00:00 0                [anon:my name]\n" +
            "7f0000002000-7f0000003000 ---p 00000000 00:00 0 \n" +
            "7f0000003000-7f0000004000 rw-s 00000000 00:01 77               /memfd:x (deleted)\n" +
            "7f0000004000-7f0000005000 r--p 00000000 00:00 0                [uprobes]";
        var maps = ProcMaps.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal(8, maps.Count);
        Assert.Equal(0xffffffffff600000UL, maps[0].Start);
        Assert.Equal(MapKind.Vsyscall, maps[0].Kind);
        Assert.Equal(MapProt.Exec, maps[0].Prot);
        Assert.Equal(MapKind.Vvar, maps[1].Kind);
        Assert.Equal(MapKind.VvarVclock, maps[2].Kind);
        var deleted = maps[3];
        Assert.Equal(("/tmp/a b", true, true, 0xabUL << 12, 0xfeu, 1u, 123456789012UL),
            (deleted.Path, deleted.Deleted, deleted.Shared, deleted.Offset, deleted.DevMajor, deleted.DevMinor, deleted.Inode));
        Assert.Equal("my name", maps[4].AnonName);
        Assert.Equal(MapKind.Anonymous, maps[5].Kind);
        Assert.Equal(MapProt.None, maps[5].Prot);
        Assert.Equal("", maps[5].Path);
        Assert.Equal(("/memfd:x", true), (maps[6].Path, maps[6].Deleted));
        Assert.Equal(MapKind.OtherSpecial, maps[7].Kind);
    }

    [Theory]
    [InlineData("7f00-7e00 rw-p 00000000 00:00 0\n", 9, "end address")]
    [InlineData("7f00-8000 rq-p 00000000 00:00 0\n", 11, "'-'")]
    [InlineData("7f00-8000 rw-p 0 00:00\n", 22, "' '")]
    [InlineData("11112222333344445-8000 rw-p 0 00:00 0\n", 16, "at most 16")]
    public void MalformedLinesNameTheOffsetAndWhatWasExpected(string line, int offset, string expected)
    {
        var e = Assert.Throws<ProcFormatException>(() => ProcMaps.Parse(Encoding.UTF8.GetBytes(line), "fixture"));
        Assert.Equal(offset, e.Offset);
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("fixture: offset", e.Message);
    }

    [Fact]
    public void MissingProcessNamesThePid()
    {
        var e = Assert.Throws<ProcessNotFoundException>(() => ProcMaps.Read(int.MaxValue));
        Assert.Equal(int.MaxValue, e.Pid);
        Assert.Contains(int.MaxValue.ToString(), e.Message);
    }

    [Fact]
    public void ExitedProcessGivesProcessNotFound()
    {
        int pid;
        using (var sleep = new SleepProcess("0")) { sleep.WaitForExit(); pid = sleep.Pid; }
        Assert.Throws<ProcessNotFoundException>(() => ProcStatusFile.Read(pid));
        Assert.Throws<ProcessNotFoundException>(() => ProcFds.Read(pid));
        Assert.Throws<ProcessNotFoundException>(() => new PagemapReader(pid));
        Assert.Throws<ProcessNotFoundException>(() => ProcTasks.ReadThreadIds(pid));
    }
}
