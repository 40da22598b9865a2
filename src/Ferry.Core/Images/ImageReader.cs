using System.Buffers;
using System.Buffers.Binary;
using Ferry.Images.Protos;
using Google.Protobuf;

namespace Ferry.Images;

/// <summary>
/// Reads a CRIU image entry by entry, validating as it goes: every length is checked against the bytes that remain
/// before anything is allocated, every message must parse and carry its required fields. Any defect raises
/// <see cref="ImageFormatException"/>.
/// </summary>
public sealed class ImageReader : IDisposable
{
    private static readonly MessageType IpcMessage = MessageType.Of<ipc_msg>();

    private readonly Stream stream;
    private readonly bool leaveOpen;
    private readonly long length;
    private long position;
    private long index;

    /// <summary>Opens <paramref name="path"/>; a missing or unreadable file raises <see cref="ImageFormatException"/>.</summary>
    public static ImageReader Open(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 64 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFormatException(path, 0, $"a readable image file ({e.Message})", e);
        }
        return new ImageReader(file, path);
    }

    /// <summary>Reads the image in <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    /// <remarks>A non-seekable stream is buffered in memory first, so that lengths can be checked against its size.</remarks>
    public ImageReader(Stream stream, string name, bool leaveOpen = false)
    {
        Name = name;
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (!leaveOpen)
                stream.Dispose();
            copy.Position = 0;
            stream = copy;
            leaveOpen = false;
        }
        this.stream = stream;
        this.leaveOpen = leaveOpen;
        position = stream.Position;
        length = stream.Length;

        try
        {
            (Prefix, Kind) = ReadHeader();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The file name used in error messages.</summary>
    public string Name { get; }

    public ImageKind Kind { get; }

    /// <summary>The prefix magic the file actually had (None for inventory and for images v1).</summary>
    public ImagePrefix Prefix { get; }

    /// <summary>Offset of the next entry.</summary>
    public long Position => position;

    /// <summary>Reads the whole image at <paramref name="path"/>.</summary>
    public static Image ReadFile(string path)
    {
        using var reader = Open(path);
        return reader.ReadToEnd();
    }

    /// <summary>Reads the remaining entries.</summary>
    public Image ReadToEnd()
    {
        var entries = new List<ImageEntry>();
        while (ReadEntry() is { } entry)
            entries.Add(entry);
        return new Image(Kind, Prefix, entries);
    }

    /// <summary>The next entry, or null at the end of the image.</summary>
    public ImageEntry? ReadEntry()
    {
        long offset = position;
        Span<byte> sizeBytes = stackalloc byte[4];
        int got = ReadUpTo(sizeBytes);
        if (got == 0)
            return null;
        if (got < 4)
            throw Error(offset, $"a 4-byte entry size, found {got} bytes before the end");
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(sizeBytes);
        CheckRemaining(offset, size, "entry");
        CheckInMemoryLimit(offset, size, "entry");

        MessageType type = Kind.TypeAt(index);
        IMessage message = ParseMessage(type, (int)size);
        ReadOnlyMemory<byte> extra = ReadExtra(Kind.ExtraAt(index), type, message, offset);
        index++;
        return new ImageEntry(message, extra, offset);
    }

    /// <summary>The next entry's message as <typeparamref name="T"/>, or null at the end of the image.</summary>
    public T? ReadMessage<T>() where T : class, IMessage => ReadEntry()?.As<T>();

    public void Dispose()
    {
        if (!leaveOpen)
            stream.Dispose();
    }

    private IMessage ParseMessage(MessageType type, int size)
    {
        long offset = position;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            ReadExactly(buffer.AsSpan(0, size));
            IMessage message;
            try
            {
                message = type.Parser.ParseFrom(buffer, 0, size);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw Error(offset, $"a valid {type.Name} message of {size} bytes ({e.Message})", e);
            }
            if (!type.HasRequiredFields(buffer.AsSpan(0, size)))
                throw Error(offset, $"a {type.Name} message with all required fields");
            return message;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ReadOnlyMemory<byte> ReadExtra(ExtraPayload rule, MessageType type, IMessage message, long entryOffset)
    {
        if (rule == ExtraPayload.IpcMsg)
            return ReadIpcMessages((ipc_msg_entry)message);
        ulong size = ExtraPayloadRules.DeclaredLength(rule, message) ?? (ulong)(length - position);
        if (size == 0)
            return ReadOnlyMemory<byte>.Empty;
        CheckRemaining(entryOffset, size, $"payload of the {type.Name}");
        CheckInMemoryLimit(entryOffset, size, $"payload of the {type.Name}");
        var extra = new byte[size];
        ReadExactly(extra);
        return extra;
    }

    /// <summary>An IPC message queue is followed by qnum framed ipc_msg entries, each with its text padded to 8.</summary>
    private byte[] ReadIpcMessages(ipc_msg_entry queue)
    {
        long start = position;
        Span<byte> sizeBytes = stackalloc byte[4];
        for (uint i = 0; i < queue.Qnum; i++)
        {
            long offset = position;
            if (ReadUpTo(sizeBytes) < 4)
                throw Error(offset, $"message {i + 1} of {queue.Qnum} of the IPC queue");
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(sizeBytes);
            CheckRemaining(offset, size, "ipc_msg");
            CheckInMemoryLimit(offset, size, "ipc_msg");
            var message = (ipc_msg)ParseMessage(IpcMessage, (int)size);
            ulong text = ExtraPayloadRules.RoundUp(message.Msize, 8);
            CheckRemaining(offset, text, "IPC message text");
            stream.Seek((long)text, SeekOrigin.Current);
            position += (long)text;
        }
        CheckInMemoryLimit(start, (ulong)(position - start), "IPC message queue");
        var all = new byte[position - start];
        stream.Seek(start, SeekOrigin.Begin);
        position = start;
        ReadExactly(all);
        return all;
    }

    private (ImagePrefix, ImageKind) ReadHeader()
    {
        uint magic = ReadMagic("an image magic");
        var prefix = magic switch
        {
            ImageMagic.Common => ImagePrefix.Common,
            ImageMagic.Service => ImagePrefix.Service,
            _ => ImagePrefix.None,
        };
        if (prefix != ImagePrefix.None)
            magic = ReadMagic("an image type magic after the common magic");
        var kind = ImageKinds.FindByMagic(magic)
            ?? throw Error(position - 4, $"a known image magic, found 0x{magic:x8}");
        return (prefix, kind);
    }

    private uint ReadMagic(string expected)
    {
        long offset = position;
        Span<byte> bytes = stackalloc byte[4];
        int got = ReadUpTo(bytes);
        if (got < 4)
            throw Error(offset, $"{expected} (4 bytes), found {got} bytes");
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    private void CheckRemaining(long offset, ulong size, string what)
    {
        long remaining = length - position;
        if (size > (ulong)remaining)
            throw Error(offset, $"a {what} of {size} bytes, but only {remaining} bytes remain in the file");
    }

    /// <summary>Entries and payloads are held in one array each; larger ones are refused rather than mis-read.</summary>
    private void CheckInMemoryLimit(long offset, ulong size, string what)
    {
        if (size > (ulong)Array.MaxLength)
            throw Error(offset, $"a {what} of at most {Array.MaxLength} bytes, found {size}");
    }

    private int ReadUpTo(Span<byte> buffer)
    {
        int got;
        try
        {
            got = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (IOException e)
        {
            throw Error(position, $"readable data ({e.Message})", e);
        }
        position += got;
        return got;
    }

    private void ReadExactly(Span<byte> buffer)
    {
        long offset = position;
        if (ReadUpTo(buffer) < buffer.Length)
            throw Error(offset, $"{buffer.Length} bytes, but the file ended (it shrank while being read)");
    }

    private ImageFormatException Error(long offset, string expected, Exception? inner = null) =>
        new(Name, offset, expected, inner);
}

/// <summary>A whole image in memory: its kind, the prefix it had, and its entries in file order.</summary>
public sealed record Image(ImageKind Kind, ImagePrefix Prefix, IReadOnlyList<ImageEntry> Entries);
