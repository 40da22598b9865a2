using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Ferry.Images;

/// <summary>
/// Writes a CRIU image: prefix and type magic, then entries (u32 size, protobuf, raw payload).
/// Entries are checked against the kind (message type, declared payload length) so a wrong image is never written.
/// </summary>
public sealed class ImageWriter : IDisposable
{
    /// <summary>Permissions of every image file Ferry creates: images hold memory contents and credentials.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Entries gather in a pooled buffer of this size and reach the stream in few large writes.</summary>
    const int BufferSize = 64 * 1024;

    private readonly Stream stream;
    private readonly bool leaveOpen;
    private byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int buffered;
    private long index;

    /// <summary>Creates (or truncates) <paramref name="path"/> with mode 0600 and writes the magic.</summary>
    public static ImageWriter Create(string path, ImageKind kind) => new(CreateFile(path), kind);

    /// <summary>Starts an image in <paramref name="stream"/>; <paramref name="prefix"/> defaults to the kind's rule.</summary>
    public ImageWriter(Stream stream, ImageKind kind, ImagePrefix? prefix = null, bool leaveOpen = false)
    {
        this.stream = stream;
        this.leaveOpen = leaveOpen;
        Kind = kind;
        Span<byte> magic = stackalloc byte[8];
        int used = 0;
        switch (prefix ?? kind.Prefix)
        {
            case ImagePrefix.Common:
                BinaryPrimitives.WriteUInt32LittleEndian(magic, ImageMagic.Common);
                used = 4;
                break;
            case ImagePrefix.Service:
                BinaryPrimitives.WriteUInt32LittleEndian(magic, ImageMagic.Service);
                used = 4;
                break;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(magic[used..], kind.Magic);
        Append(magic[..(used + 4)]);
    }

    public ImageKind Kind { get; }

    /// <summary>Writes a whole image (e.g. one read by <see cref="ImageReader.ReadFile"/>) to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, Image image)
    {
        using var writer = new ImageWriter(stream, image.Kind, image.Prefix, leaveOpen: true);
        foreach (var entry in image.Entries)
            writer.Write(entry.Message, entry.Extra.Span);
    }

    /// <summary>Writes a whole image to a new 0600 file.</summary>
    public static void WriteFile(string path, ImageKind kind, IEnumerable<IMessage> messages)
    {
        using var writer = Create(path, kind);
        foreach (var message in messages)
            writer.Write(message);
    }

    /// <summary>Appends one entry followed by <paramref name="extra"/>, whose length must match what the entry declares.</summary>
    public void Write(IMessage message, ReadOnlySpan<byte> extra = default)
    {
        var expected = Kind.TypeAt(index);
        if (message.GetType() != expected.ClrType)
            throw new ArgumentException($"{Kind.Name} entry {index} must be {expected.Name}, not {message.GetType().Name}", nameof(message));
        ulong? declared = ExtraPayloadRules.DeclaredLength(Kind.ExtraAt(index), message);
        if (declared is { } length && length != (ulong)extra.Length)
            throw new ArgumentException($"{expected.Name} declares {length} payload bytes, got {extra.Length}", nameof(extra));

        int size = message.CalculateSize();
        if (size + 4 > buffer.Length - buffered) Flush();
        byte[]? large = size + 4 > buffer.Length ? ArrayPool<byte>.Shared.Rent(size + 4) : null;
        try
        {
            var framed = (large ?? buffer).AsSpan(large is null ? buffered : 0, size + 4);
            BinaryPrimitives.WriteUInt32LittleEndian(framed, (uint)size);
            message.WriteTo(framed[4..]);
            if (!expected.HasRequiredFields(framed[4..]))
                throw new ArgumentException($"{expected.Name} lacks required fields", nameof(message));
            if (large is null) buffered += framed.Length;
            else stream.Write(framed);
        }
        finally
        {
            if (large is not null) ArrayPool<byte>.Shared.Return(large);
        }
        Append(extra);
        index++;
    }

    void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > buffer.Length - buffered) Flush();
        if (bytes.Length > buffer.Length)
        {
            stream.Write(bytes);
            return;
        }
        bytes.CopyTo(buffer.AsSpan(buffered));
        buffered += bytes.Length;
    }

    void Flush()
    {
        stream.Write(buffer, 0, buffered);
        buffered = 0;
    }

    /// <summary>Writes what is buffered, then closes the stream unless it was left open.</summary>
    public void Dispose()
    {
        if (buffer.Length == 0) return;
        try
        {
            Flush();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
            if (!leaveOpen)
                stream.Dispose();
        }
    }

    /// <summary>A new (or truncated) 0600 image file, unbuffered: its writers buffer themselves.</summary>
    internal static FileStream CreateFile(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.Create,
            Access = FileAccess.Write,
            BufferSize = 0,
        };
        if (OperatingSystem.IsWindows())
            return new FileStream(path, options);
        options.UnixCreateMode = FileMode;
        var file = new FileStream(path, options);
        // A file left by an earlier dump keeps its mode on truncation; images must never be readable by others.
        File.SetUnixFileMode(file.SafeFileHandle, FileMode);
        return file;
    }
}
