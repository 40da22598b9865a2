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

    private readonly Stream stream;
    private readonly bool leaveOpen;
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
        stream.Write(magic[..(used + 4)]);
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
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size + 4);
        try
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)size);
            message.WriteTo(buffer.AsSpan(4, size));
            if (!expected.HasRequiredFields(buffer.AsSpan(4, size)))
                throw new ArgumentException($"{expected.Name} lacks required fields", nameof(message));
            stream.Write(buffer, 0, size + 4);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        stream.Write(extra);
        index++;
    }

    public void Dispose()
    {
        if (!leaveOpen)
            stream.Dispose();
    }

    internal static FileStream CreateFile(string path, int bufferSize = 64 * 1024)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.Create,
            Access = FileAccess.Write,
            BufferSize = bufferSize,
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
