using Ferry.Images;

namespace Ferry.Images.Json;

/// <summary>
/// The work behind <c>ferry show</c> and <c>ferry encode</c>, apart from argument parsing so that tests can run it
/// in-process. Bad input gives one line <c>ferry: FILE: WHERE: expected WHAT</c> on the error writer and exit code 1;
/// a request that cannot make sense gives exit code 2.
/// </summary>
public static class ImageTextCommands
{
    public const int Ok = 0;
    public const int BadInput = 1;
    public const int UsageError = 2;

    /// <summary>
    /// crit's <c>show</c>: an image file as crit's pretty JSON, or every image of a directory in name order, each
    /// after a "==> NAME <==" line; with <paramref name="summary"/>, the overview of a directory instead.
    /// </summary>
    public static int Show(string path, bool summary, TextWriter output, TextWriter error)
    {
        if (summary)
        {
            if (!Directory.Exists(path))
                return Fail(error, UsageError, $"{path}: expected an image directory for --summary");
            return Guard(error, path, () => output.Write(ImageSummary.Describe(path)));
        }
        if (Directory.Exists(path)) return ShowDirectory(path, output, error);
        return Guard(error, path, () => output.Write(ImageJson.ToText(ImageJson.DecodeFile(path))));
    }

    static int ShowDirectory(string directory, TextWriter output, TextWriter error)
    {
        var status = Ok;
        foreach (var path in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
        {
            if (!IsProtobufImage(path)) continue;
            var text = "";
            if (Guard(error, path, () => text = ImageJson.ToText(ImageJson.DecodeFile(path))) != Ok)
            {
                status = BadInput;
                continue;
            }
            output.Write($"==> {Path.GetFileName(path)} <==\n");
            output.Write(text);
        }
        return status;
    }

    /// <summary>Raw images (memory pages, logs, tarballs) have no known magic at their start; crit skips them too.</summary>
    static bool IsProtobufImage(string path)
    {
        if (Path.GetFileName(path).StartsWith("pages-", StringComparison.Ordinal)) return false;
        try
        {
            using var reader = ImageReader.Open(path);
            return true;
        }
        catch (ImageFormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// crit's <c>encode</c>: the JSON in <paramref name="input"/> ("-" for <paramref name="stdin"/>) becomes the image
    /// <paramref name="output"/> ("-" for <paramref name="stdout"/>). Nothing is written unless the whole input is good.
    /// </summary>
    public static int Encode(string input, string output, Stream stdin, Stream stdout, TextWriter error)
    {
        var inputName = input == "-" ? "<stdin>" : input;
        byte[] json;
        try
        {
            json = input == "-" ? ReadAll(stdin) : File.ReadAllBytes(input);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(error, BadInput, $"{inputName}: expected a readable JSON file ({e.Message})");
        }

        using var image = new MemoryStream();
        try
        {
            ImageJson.Encode(ImageJson.Parse(json), image);
        }
        catch (ImageJsonException e)
        {
            return Fail(error, BadInput, $"{inputName}: {e.Message}");
        }

        try
        {
            if (output == "-")
            {
                image.WriteTo(stdout);
                stdout.Flush();
            }
            else
            {
                using var file = ImageWriter.CreateFile(output);
                image.WriteTo(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(error, BadInput, $"{output}: expected a writable file ({e.Message})");
        }
        return Ok;
    }

    static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    static int Guard(TextWriter error, string path, Action action)
    {
        try
        {
            action();
            return Ok;
        }
        catch (ImageFormatException e)
        {
            return Fail(error, BadInput, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(error, BadInput, $"{path}: expected a readable image ({e.Message})");
        }
    }

    static int Fail(TextWriter error, int code, string message)
    {
        error.Write($"ferry: {message}\n");
        return code;
    }
}
