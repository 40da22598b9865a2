using Google.Protobuf;

namespace Ferry.Images;

/// <summary>One entry of an image: its protobuf message and the raw payload that followed it (empty if none).</summary>
public sealed class ImageEntry(IMessage message, ReadOnlyMemory<byte> extra, long offset = -1)
{
    public IMessage Message { get; } = message;

    /// <summary>Raw bytes after the message (pipe data, queued packets, TCP queues, ghost file contents, ...).</summary>
    public ReadOnlyMemory<byte> Extra { get; } = extra;

    /// <summary>File offset of the entry's size prefix, or -1 for entries not read from a file.</summary>
    public long Offset { get; } = offset;

    public T As<T>() where T : class, IMessage => (T)Message;
}
