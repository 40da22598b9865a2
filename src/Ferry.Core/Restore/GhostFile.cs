using Ferry.Images;
using Ferry.Images.Protos;

namespace Ferry.Restore;

/// <summary>A file that was deleted while open: its metadata and contents from ghost-file-ID.img.</summary>
public sealed class GhostFile
{
    GhostFile(uint id, ghost_file_entry entry, IReadOnlyList<(ulong Offset, ReadOnlyMemory<byte> Data)> chunks)
    {
        Id = id;
        Entry = entry;
        Chunks = chunks;
    }

    public uint Id { get; }
    public ghost_file_entry Entry { get; }

    /// <summary>The contents as (offset, bytes) pieces; a file without chunks is one piece at 0.</summary>
    public IReadOnlyList<(ulong Offset, ReadOnlyMemory<byte> Data)> Chunks { get; }

    internal static GhostFile Load(DumpSet.Loader set, uint id)
    {
        string name = $"ghost-file-{id:x}.img";
        var entries = set.Entries(name, ImageKinds.GhostFile, optional: false);
        if (entries.Count == 0)
            throw set.Defect(name, 0, "a ghost_file_entry");
        var head = entries[0].As<ghost_file_entry>();
        var chunks = new List<(ulong, ReadOnlyMemory<byte>)>();
        if (head.Chunks)
            foreach (var entry in entries.Skip(1))
                chunks.Add((entry.As<ghost_chunk_entry>().Off, entry.Extra));
        else
            chunks.Add((0, entries[0].Extra));
        return new GhostFile(id, head, chunks);
    }
}
