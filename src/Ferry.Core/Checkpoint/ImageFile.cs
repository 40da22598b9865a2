using System.Buffers.Binary;
using Ferry.Images;
using Google.Protobuf;

namespace Ferry.Checkpoint;

/// <summary>
/// Writes one CRIU image (prefix magic, type magic, then u32-size-prefixed entries with optional raw payload)
/// straight from the generated messages. The dump writes through this rather than <see cref="ImageWriter"/>
/// because that one's kind table builds the protobuf descriptors of every schema on first use, which costs more
/// than a whole dump of a small process; serialization itself needs no descriptors.
/// </summary>
internal sealed class ImageFile : IDisposable
{
    readonly FileStream _stream;
    byte[] _buffer = new byte[4096];

    ImageFile(string path, uint magic, bool withCommonPrefix, uint prefix)
    {
        _stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write, BufferSize = 64 << 10, UnixCreateMode = ImageWriter.FileMode,
        });
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(head, prefix);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], magic);
        _stream.Write(withCommonPrefix ? head : head[4..]);
    }

    /// <summary>Creates (or truncates) the image with mode 0600 and writes its magic.</summary>
    public static ImageFile Create(string path, Magic magic) =>
        new(path, magic.Value, magic.Prefix != 0, magic.Prefix);

    public static void Write(string path, Magic magic, IEnumerable<IMessage> entries)
    {
        using var image = Create(path, magic);
        foreach (var entry in entries) image.Write(entry);
    }

    public void Write(IMessage entry, ReadOnlySpan<byte> extra = default)
    {
        var size = entry.CalculateSize();
        if (_buffer.Length < size + 4) _buffer = new byte[Math.Max(size + 4, _buffer.Length * 2)];
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)size);
        entry.WriteTo(_buffer.AsSpan(4, size));
        _stream.Write(_buffer, 0, size + 4);
        _stream.Write(extra);
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>An image's type magic and the magic before it (none for inventory, "service" for stats).</summary>
    public readonly record struct Magic(uint Value, uint Prefix = ImageMagic.Common)
    {
        public static readonly Magic Inventory = new(0x58313116, 0);
        public static readonly Magic Pstree = new(0x50273030);
        public static readonly Magic Fdinfo = new(0x56213732);
        public static readonly Magic Pagemap = new(0x56084025);
        public static readonly Magic Core = new(0x55053847);
        public static readonly Magic Ids = new(0x54432030);
        public static readonly Magic PipesData = new(0x56453709);
        public static readonly Magic FifoData = new(0x59333054);
        public static readonly Magic Fs = new(0x51403912);
        public static readonly Magic Mm = new(0x57492820);
        public static readonly Magic RemapFpath = new(0x59133954);
        public static readonly Magic GhostFile = new(0x52583605);
        public static readonly Magic Files = new(0x56303138);
        public static readonly Magic Stats = new(0x57093306, ImageMagic.Service);
    }
}
