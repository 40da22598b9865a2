namespace Ferry.Images.Json;

/// <summary>
/// JSON input that cannot become an image. The message is one line: where in the JSON (a path such as
/// <c>entries[2].tc.comm</c>, or a line and byte for syntax errors) and what was expected there.
/// </summary>
public sealed class ImageJsonException : Exception
{
    public ImageJsonException(string location, string expected, Exception? inner = null)
        : base($"{location}: expected {expected}", inner)
    {
        Location = location;
    }

    public string Location { get; }
}
