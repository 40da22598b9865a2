using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Ferry.Images;

/// <summary>Which framing magic precedes the type magic of an image.</summary>
public enum ImagePrefix
{
    /// <summary>No prefix: inventory.img starts directly with its type magic.</summary>
    None,
    /// <summary><see cref="ImageMagic.Common"/>.</summary>
    Common,
    /// <summary><see cref="ImageMagic.Service"/> (stats, irmap-cache).</summary>
    Service,
}

/// <summary>How many raw bytes follow a protobuf entry, derived from that entry.</summary>
public enum ExtraPayload
{
    None,
    /// <summary>pipe_data_entry.bytes (pipes-data, fifo-data).</summary>
    PipeData,
    /// <summary>sk_packet_entry.length (sk-queues).</summary>
    SocketQueue,
    /// <summary>tcp_stream_entry.inq_len + outq_len: receive queue bytes then send queue bytes.</summary>
    TcpStream,
    /// <summary>bpfmap_data_entry.keys_bytes + values_bytes.</summary>
    BpfMapData,
    /// <summary>ipc_shm_entry.size rounded up to 4, unless in_pagemaps (then the data is in a pagemap).</summary>
    IpcShm,
    /// <summary>ipc_sem_entry.nsems u16 values, rounded up to 8 bytes.</summary>
    IpcSem,
    /// <summary>ipc_msg_entry.qnum times (u32 size, ipc_msg, msize bytes rounded up to 8).</summary>
    IpcMsg,
    /// <summary>ghost_file_entry: the rest of the file, unless chunks is set (then chunk entries follow).</summary>
    GhostFile,
    /// <summary>ghost_chunk_entry.len.</summary>
    GhostChunk,
}

/// <summary>
/// A protobuf message type known by its generated parser. Its descriptor is built only when asked for: parsing,
/// serializing and checking required fields need none, and building descriptors (of the message's file and every
/// file it imports) is slow.
/// </summary>
public sealed class MessageType
{
    private readonly Func<MessageDescriptor> describe;
    private readonly RequiredFields.Rule? required;

    private MessageType(MessageParser parser, Type clrType, Func<MessageDescriptor> describe)
    {
        Parser = parser;
        ClrType = clrType;
        this.describe = describe;
        required = RequiredFields.For(clrType);
    }

    public static MessageType Of<T>() where T : IMessage<T>, new() =>
        new(new MessageParser<T>(static () => new T()), typeof(T), static () => new T().Descriptor);

    public MessageParser Parser { get; }

    /// <summary>The generated class, whose name is the schema's message name.</summary>
    public Type ClrType { get; }

    /// <summary>The message's name in the schema (e.g. core_entry).</summary>
    public string Name => ClrType.Name;

    /// <summary>The message's descriptor (the generated code caches it after the first build).</summary>
    public MessageDescriptor Descriptor => describe();

    /// <summary>True when <paramref name="wire"/>, a serialized message of this type, has all its required fields.</summary>
    public bool HasRequiredFields(ReadOnlySpan<byte> wire) => required is null || RequiredFields.AreSet(required, wire);
}

/// <summary>
/// One kind of CRIU image: its type magic, the name crit prints for it, the protobuf message of its entries and
/// how raw payload after an entry is sized. Some kinds start with a different head message (pagemap, ghost-file).
/// </summary>
public sealed class ImageKind
{
    private readonly MessageType entryType;
    private readonly MessageType? headType;

    internal ImageKind(string name, uint magic, MessageType entry, ExtraPayload entryExtra = ExtraPayload.None,
        MessageType? head = null, ExtraPayload headExtra = ExtraPayload.None, ImagePrefix prefix = ImagePrefix.Common)
    {
        Name = name;
        Magic = magic;
        entryType = entry;
        EntryExtra = entryExtra;
        headType = head;
        HeadExtra = headExtra;
        Prefix = prefix;
    }

    /// <summary>crit's name of the magic, as printed in its JSON "magic" field (e.g. "CORE", "PAGEMAP").</summary>
    public string Name { get; }

    /// <summary>The type magic written after the prefix.</summary>
    public uint Magic { get; }

    public ImagePrefix Prefix { get; }

    /// <summary>Message of every entry (after the head, if there is one).</summary>
    public MessageDescriptor Entry => entryType.Descriptor;

    public ExtraPayload EntryExtra { get; }

    /// <summary>Message of the first entry when it differs from the rest (pagemap_head, ghost_file_entry).</summary>
    public MessageDescriptor? Head => headType?.Descriptor;

    public ExtraPayload HeadExtra { get; }

    /// <summary>The message type of the entry at <paramref name="index"/> (0-based).</summary>
    public MessageType TypeAt(long index) => index == 0 && headType is not null ? headType : entryType;

    /// <summary>The message of the entry at <paramref name="index"/> (0-based).</summary>
    public MessageDescriptor DescriptorAt(long index) => TypeAt(index).Descriptor;

    /// <summary>The payload rule of the entry at <paramref name="index"/> (0-based).</summary>
    public ExtraPayload ExtraAt(long index) => index == 0 && headType is not null ? HeadExtra : EntryExtra;

    public override string ToString() => Name;
}
