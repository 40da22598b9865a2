using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Ferry.IntegrationTests.Dump;

/// <summary>CRIU's own decoder, /usr/bin/crit (Debian's 3.17 here), as an outside judge of the images.</summary>
public static class Crit
{
    public const string Path = "/usr/bin/crit";

    public static bool Available => File.Exists(Path);

    /// <summary>`crit decode -i FILE` as JSON; throws with crit's error output when it cannot decode.</summary>
    public static JsonNode Decode(string image)
    {
        // crit is never traced, so System.Diagnostics.Process is fine here.
        var start = new ProcessStartInfo(Path, ["decode", "-i", image]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"crit decode {image} failed ({process.ExitCode}): {stderr}");
        return JsonNode.Parse(stdout.Result) ?? throw new InvalidOperationException($"crit decode {image} printed nothing");
    }
}
