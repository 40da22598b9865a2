namespace Ferry.Images;

/// <summary>
/// An image file is missing, truncated or malformed. The message is one line: file, byte offset, what was expected.
/// Every defect of image input surfaces as this type, so callers can catch exactly one thing.
/// </summary>
public sealed class ImageFormatException : Exception
{
    public ImageFormatException(string file, long offset, string expected, Exception? inner = null)
        : base($"{file}: at byte {offset}: expected {expected}", inner)
    {
        File = file;
        Offset = offset;
    }

    /// <summary>The image file name (or path) the problem was found in.</summary>
    public string File { get; }

    /// <summary>Byte offset in the file where the problem was found.</summary>
    public long Offset { get; }
}
