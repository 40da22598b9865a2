using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Ferry.IntegrationTests.Dump;

/// <summary>CRIU's own decoder, /usr/bin/crit (Debian's 3.17 here), as an outside judge of the images.</summary>
public static class Crit
{
    public const string Path = "/usr/bin/crit";

    public static bool Available => File.Exists(Path);

    /// <summary>`crit decode -i FILE` as JSON; throws with crit's error output when it cannot decode.</summary>
    public static JsonNode Decode(string image) =>
        JsonNode.Parse(Run("decode", "-i", image)) ?? throw new InvalidOperationException($"crit decode {image} printed nothing");

    /// <summary>`crit x DIR WHAT` (ps, fds, mems, rss): crit's view of a whole image directory.</summary>
    public static string Explore(string imagesDir, string what) => Run("x", imagesDir, what);

    static string Run(params string[] arguments)
    {
        // crit is never traced, so System.Diagnostics.Process is fine here.
        var start = new ProcessStartInfo(Path, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"crit {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr}");
        return stdout.Result;
    }
}
