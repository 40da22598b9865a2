using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>CRIU's vma_entry.status bits (criu/include/image.h) and what they mean for a restore.</summary>
public static class Vma
{
    public const uint Regular = 1 << 0;
    public const uint Stack = 1 << 1;
    public const uint Vsyscall = 1 << 2;
    public const uint Vdso = 1 << 3;
    public const uint Heap = 1 << 5;
    public const uint FilePrivate = 1 << 6;
    public const uint FileShared = 1 << 7;
    public const uint AnonShared = 1 << 8;
    public const uint AnonPrivate = 1 << 9;
    public const uint SysVIpc = 1 << 10;
    public const uint Socket = 1 << 11;
    public const uint Vvar = 1 << 12;
    public const uint AioRing = 1 << 13;
    public const uint Memfd = 1 << 14;
    public const uint ShadowStack = 1 << 15;
    public const uint Guard = 1 << 16;
    public const uint Uprobes = 1 << 17;

    public static bool Is(vma_entry vma, uint bit) => (vma.Status & bit) != 0;

    /// <summary>Mapped from a file of files.img, named by shmid.</summary>
    public static bool IsFileBacked(vma_entry vma) => Is(vma, FilePrivate) || Is(vma, FileShared);

    /// <summary>The kernel's own areas: they are moved into place, never created or filled.</summary>
    public static bool IsKernelArea(vma_entry vma) => Is(vma, Vdso) || Is(vma, Vvar) || Is(vma, Vsyscall);
}
