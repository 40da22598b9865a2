using Ferry.Images.Protos;
using Ferry.Resources.Memory;
using Xunit;

namespace Ferry.Tests.Checkpoint;

/// <summary>The one rule dump and restore share for VMAs a child still has from its parent since the fork.</summary>
public class InheritedAreasTests
{
    const uint AnonPrivate = 1 << 9 | 1, FilePrivate = 1 << 6 | 1, AnonShared = 1 << 8 | 1, Vdso = 1 << 3 | 1;
    const uint Private = 0x02, Anonymous = 0x20, Shared = 0x01, Locked = 0x2000, Droppable = 0x08;
    const int DontFork = 10, WipeOnFork = 18, HugePage = 14;

    static vma_entry Area(uint status = AnonPrivate, uint flags = Private | Anonymous, ulong start = 0x10000, ulong end = 0x20000,
        ulong shmid = 0, ulong madv = 0) =>
        new() { Start = start, End = end, Prot = 3, Flags = flags, Status = status, Shmid = shmid, Pgoff = 0, Fd = -1, Madv = madv };

    [Fact]
    public void The_same_private_area_is_inherited()
    {
        Assert.True(InheritedAreas.Match(Area(), Area()));
        Assert.True(InheritedAreas.Match(Area(FilePrivate, Private, shmid: 7), Area(FilePrivate, Private, shmid: 7)));
        Assert.True(InheritedAreas.Match(Area(madv: 1UL << HugePage), Area(madv: 1UL << HugePage)));
    }

    [Fact]
    public void An_area_the_child_changed_after_the_fork_is_not()
    {
        var readOnly = Area();
        readOnly.Prot = 1;
        Assert.False(InheritedAreas.Match(Area(end: 0x30000), Area()));
        Assert.False(InheritedAreas.Match(readOnly, Area()));
        Assert.False(InheritedAreas.Match(Area(FilePrivate, Private, shmid: 7), Area(FilePrivate, Private, shmid: 8)));
        Assert.False(InheritedAreas.Match(Area(madv: 1UL << HugePage), Area()));
    }

    [Fact]
    public void Areas_a_fork_does_not_copy_as_they_are_never_are()
    {
        Assert.False(InheritedAreas.Match(Area(AnonShared, Shared | Anonymous), Area(AnonShared, Shared | Anonymous)));
        Assert.False(InheritedAreas.Match(Area(Vdso, Private), Area(Vdso, Private)));
        Assert.False(InheritedAreas.Match(Area(flags: Droppable | Anonymous), Area(flags: Droppable | Anonymous)));
        Assert.False(InheritedAreas.Match(Area(flags: Private | Anonymous | Locked), Area(flags: Private | Anonymous | Locked)));
        Assert.False(InheritedAreas.Match(Area(madv: 1UL << DontFork), Area(madv: 1UL << DontFork)));
        Assert.False(InheritedAreas.Match(Area(madv: 1UL << WipeOnFork), Area(madv: 1UL << WipeOnFork)));
    }

    [Fact]
    public void Of_pairs_each_child_area_with_the_parent_area_at_its_address()
    {
        var parent = new[] { Area(start: 0x10000, end: 0x20000), Area(start: 0x30000, end: 0x40000), Area(start: 0x50000, end: 0x60000) };
        var child = new[] { Area(start: 0x10000, end: 0x20000), Area(start: 0x20000, end: 0x30000), Area(start: 0x50000, end: 0x60000) };
        Assert.Equal([0x10000UL, 0x50000UL], InheritedAreas.Of(child, parent).Select(v => v.Start));
    }
}
