using Ferry.Images.Protos;
using Ferry.Linux;

namespace Ferry.Resources.Memory;

/// <summary>
/// The private VMAs a forked child still has from its parent: the restore rebuilds the parent's memory before it
/// clones the child, so these come to the child copy-on-write and are kept, and the dump may store the pages the two
/// share once. Dump and restore use this one rule, so a page the dump marks as the parent's always lands in a VMA the
/// restore keeps. The rule is strict on purpose (the same range, protection, flags, kind, file and offset, and the
/// same madvise bits): whatever the child changed after the fork is then rebuilt the ordinary way.
/// </summary>
public static class InheritedAreas
{
    /// <summary>
    /// Ferry's pagemap_entry flag for a run of pages stored once, in the parent's images (`ferry dump
    /// --cow-pages-once`): the entry carries PE_PARENT | this bit and has no data in this process's pages image.
    /// Why this form: CRIU's pagemap cannot point into another process's pages image (a process's entries take its
    /// pages-ID.img in order), so the run has no data here; PE_PARENT means "in the parent image directory" of an
    /// incremental dump, which a plain dump has not, so CRIU 4.2 stops with "No parent for snapshot pagemap" and
    /// "Restoring FAILED" (checked) instead of restoring wrong memory, and crit decodes the entry ("PE_PARENT |
    /// 0x10000"). The extra bit tells Ferry's marking from an incremental dump's PE_PARENT, which Ferry refuses.
    /// Such images are therefore Ferry's own, which is why the dump writes them only when asked; Ferry restores
    /// both kinds (CRIU's full pages are compared with the parent's, see <see cref="InheritedPages"/>).
    /// </summary>
    public const uint InParentProcess = 0x10000;

    const uint Private = VmaStatus.AnonPrivate | VmaStatus.FilePrivate;

    /// <summary>Kinds that are never inherited as they are: the kernel's areas, shared and special memory.</summary>
    const uint NotInherited = VmaStatus.Vsyscall | VmaStatus.Vdso | VmaStatus.Vvar | VmaStatus.AnonShared | VmaStatus.FileShared
        | VmaStatus.SysVIpc | VmaStatus.Socket | VmaStatus.AioRing | VmaStatus.ShadowStack | VmaStatus.Guard;

    /// <summary>MAP_TYPE: MAP_PRIVATE, not MAP_SHARED or MAP_DROPPABLE.</summary>
    const uint MapType = 0x0f;

    /// <summary>Whether the child's <paramref name="child"/> is the parent's <paramref name="parent"/>, inherited by fork.</summary>
    public static bool Match(vma_entry child, vma_entry parent) =>
        child.Start == parent.Start && child.End == parent.End && child.Prot == parent.Prot && child.Flags == parent.Flags
        && child.Status == parent.Status && child.Pgoff == parent.Pgoff && Madvise(child) == Madvise(parent)
        && ((child.Status & (VmaStatus.FilePrivate | VmaStatus.Memfd)) == 0 || child.Shmid == parent.Shmid)
        && Inheritable(parent);

    /// <summary>
    /// Private memory a fork copies as it is: not MAP_LOCKED (madvise(MADV_DONTNEED) refuses it) or hugetlb, and
    /// not marked MADV_DONTFORK (the child does not get it) or MADV_WIPEONFORK (the child gets it empty).
    /// </summary>
    static bool Inheritable(vma_entry vma) =>
        (vma.Status & Private) != 0 && (vma.Status & NotInherited) == 0 && (vma.Flags & MapType) == Mman.MAP_PRIVATE
        && (vma.Flags & (Mman.MAP_LOCKED | MapHugetlb)) == 0
        && (Madvise(vma) & (1UL << Mman.MADV_DONTFORK | 1UL << Mman.MADV_WIPEONFORK)) == 0;

    const uint MapHugetlb = 0x40000;

    static ulong Madvise(vma_entry vma) => vma.HasMadv ? vma.Madv : 0;

    /// <summary>The VMAs of <paramref name="child"/> that match one of <paramref name="parent"/> (both sorted by address).</summary>
    public static List<vma_entry> Of(IReadOnlyList<vma_entry> child, IReadOnlyList<vma_entry> parent)
    {
        var inherited = new List<vma_entry>();
        int p = 0;
        foreach (var vma in child)
        {
            while (p < parent.Count && parent[p].Start < vma.Start) p++;
            if (p < parent.Count && Match(vma, parent[p]))
                inherited.Add(vma);
        }
        return inherited;
    }
}
