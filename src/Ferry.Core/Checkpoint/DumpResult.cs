namespace Ferry.Checkpoint;

/// <summary>What a dump did and how long it took.</summary>
/// <param name="Frozen">From the first thread stopped to the last released (or killed).</param>
/// <param name="MemoryWrite">Scanning pagemap, copying pages and writing them.</param>
public sealed record DumpResult(TimeSpan Total, TimeSpan Frozen, TimeSpan MemoryWrite, long PagesWritten, long MemoryBytes)
{
    /// <summary>Pages of shared anonymous memory written to pages-*.img beside the private ones.</summary>
    public long SharedPagesWritten { get; init; }
}
