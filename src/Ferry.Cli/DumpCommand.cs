using System.CommandLine;
using Ferry.Checkpoint;
using Ferry.Diagnostics;

namespace Ferry.Cli;

/// <summary>`ferry dump -t PID -D DIR`: checkpoint a process tree into CRIU-format images.</summary>
internal static class DumpCommand
{
    public static Command Create()
    {
        var tree = new Option<int>("--tree", "-t") { Description = "PID of the root of the process tree to checkpoint", Required = true };
        var shared = new SharedVerbOptions("Give up freezing the tree when a task has not stopped after this many seconds (default 10, as CRIU)");
        var leaveRunning = new Option<bool>("--leave-running", "-R") { Description = "Let the tree run on after the dump (default: kill it)" };
        var leaveStopped = new Option<bool>("--leave-stopped", "-s") { Description = "Leave the tree stopped after the dump" };
        var ghostLimit = new Option<long>("--ghost-limit")
        {
            Description = "Largest deleted-but-open file saved as a ghost file, in bytes on disk (K, M, G suffixes; default 1M, as CRIU)",
            DefaultValueFactory = _ => DumpRequest.DefaultGhostLimit,
            CustomParser = ParseSize,
        };
        var linkRemap = new Option<bool>("--link-remap") { Description = "Keep an open file deleted under its name but linked elsewhere through one more link (link_remap.ID next to it) instead of a ghost copy" };
        var cowPagesOnce = new Option<bool>("--cow-pages-once") { Description = "Store a page a child still shares with its parent since the fork once, in the parent's images (smaller images; only Ferry restores them, CRIU refuses)" };
        var fileLocks = new Option<bool>("--file-locks", "-l") { Description = "Save the file locks (flock, POSIX, OFD) the tree holds; without it a held lock stops the dump" };

        var command = new Command("dump", "Checkpoint a running process tree into image files") { tree };
        shared.AddTo(command);
        foreach (Option option in new Option[] { leaveRunning, leaveStopped, ghostLimit, fileLocks, linkRemap, cowPagesOnce })
            command.Add(option);
        CriuCompatibilityOptions.AddDumpOptions(command);
        command.SetAction(parse => CliAction.Run("dump", () =>
        {
            var request = new DumpRequest(parse.GetValue(tree), parse.GetValue(shared.ImagesDir)!.FullName)
            {
                LeaveRunning = parse.GetValue(leaveRunning),
                LeaveStopped = parse.GetValue(leaveStopped),
                ShellJob = parse.GetValue(shared.ShellJob),
                FileLocks = parse.GetValue(fileLocks),
                LinkRemap = parse.GetValue(linkRemap),
                CowPagesOnce = parse.GetValue(cowPagesOnce),
                Tcp = shared.Tcp(parse),
                FreezeTimeout = parse.GetValue(shared.Timeout) is int s ? TimeSpan.FromSeconds(s) : null,
                GhostLimit = parse.GetValue(ghostLimit),
                CgroupRoots = shared.CgroupRoots(parse),
            };
            var logPath = LogPath(parse.GetValue(shared.LogFile), parse.GetValue(shared.WorkDir), request.ImagesDir);
            using var log = new Log(logPath, parse.GetValue(shared.Verbosity));
            try
            {
                var result = Dumper.Dump(request, log);
                log.Info($"Dumping finished successfully: {result.MemoryBytes} bytes of memory, frozen {result.Frozen.TotalMilliseconds:F2} ms, total {result.Total.TotalMilliseconds:F2} ms");
                return CliAction.Ok;
            }
            catch (Exception e) when (logPath is not null)
            {
                // Without a log file the error line is printed once, by CliAction.
                log.Error(e.Message);
                throw;
            }
        }));
        return command;
    }

    /// <summary>A size as CRIU writes it: bytes, or a number with a K, M or G suffix (powers of 1024).</summary>
    static long ParseSize(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens.Single().Value;
        int shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 };
        string digits = shift == 0 ? text : text[..^1];
        if (long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value)
            && value <= long.MaxValue >> shift)
            return value << shift;
        result.AddError($"--ghost-limit: '{text}' is not a size (bytes, or a number with K, M or G)");
        return 0;
    }

    /// <summary>CRIU's rule: a relative -o is inside the work directory (-W), which defaults to the images directory.</summary>
    internal static string? LogPath(FileInfo? logFile, DirectoryInfo? workDir, string imagesDir)
    {
        if (logFile is null) return null;
        var original = logFile.ToString();
        if (Path.IsPathRooted(original)) return original;
        var dir = workDir?.FullName ?? imagesDir;
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, original);
    }
}
