namespace Ferry.Images;

/// <summary>pagemap_entry.flags: where a run of pages has its data.</summary>
[Flags]
public enum PageMapFlags : uint
{
    None = 0,
    /// <summary>PE_PARENT: the data is in the parent dump (pre-dump chain).</summary>
    Parent = 1,
    /// <summary>PE_LAZY: the pages may be served lazily on restore.</summary>
    Lazy = 2,
    /// <summary>PE_PRESENT: the data is in this dump's pages image.</summary>
    Present = 4,
}

/// <summary>A run of pages of a pagemap: address, length, flags and where its data starts in the pages image.</summary>
public readonly record struct PageRun(ulong Address, ulong PageCount, PageMapFlags Flags, long PagesOffset)
{
    public const int PageSize = 4096;

    public ulong Length => PageCount * PageSize;

    public ulong End => Address + Length;

    public bool IsPresent => (Flags & PageMapFlags.Present) != 0;
}
