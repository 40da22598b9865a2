namespace Ferry.Resources.Memory;

/// <summary>CRIU's vma_entry.status bits (what kind of area it is, how restore must rebuild it).</summary>
internal static class VmaStatus
{
    public const uint Regular = 1 << 0, Stack = 1 << 1, Vsyscall = 1 << 2, Vdso = 1 << 3, Heap = 1 << 5,
        FilePrivate = 1 << 6, FileShared = 1 << 7, AnonShared = 1 << 8, AnonPrivate = 1 << 9, SysVIpc = 1 << 10,
        Socket = 1 << 11, Vvar = 1 << 12, AioRing = 1 << 13, Memfd = 1 << 14, ShadowStack = 1 << 15, Guard = 1 << 16;
}

/// <summary>pagemap_entry.flags.</summary>
internal static class PagemapFlags
{
    public const uint Parent = 1, Lazy = 2, Present = 4;
}
