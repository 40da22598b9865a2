using System.CommandLine;

namespace Ferry.Cli;

/// <summary>The `ferry` command tree. Each verb lives in its own *Command class.</summary>
internal static class FerryCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Ferry: checkpoint, restore and live migration of Linux process trees (CRIU-compatible).");
        root.Add(DumpCommand.Create());
        root.Add(RestoreCommand.Create());
        root.Add(ShowCommand.Create());
        root.Add(EncodeCommand.Create());
        root.Add(CheckCommand.Create());
        root.Add(RunCommand.Create());
        foreach (var planned in PlannedCommands.Create()) root.Add(planned);
        return root;
    }

    /// <summary>Parses CRIU-style arguments and runs the verb; usage errors exit 2 like getopt tools do.</summary>
    public static int Run(string[] args)
    {
        var parse = Build().Parse(CriuArguments.Normalize(args));
        if (parse.Errors.Count > 0)
        {
            // One line, as every error of Ferry's: the parser's own messages may span lines (a list of allowed values).
            var problems = parse.Errors.Select(e => string.Join(' ', e.Message.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim())).TrimEnd('.'));
            Console.Error.WriteLine($"ferry: {string.Join("; ", problems)}; see 'ferry --help' or 'ferry <command> --help'");
            return CliAction.Usage;
        }
        return parse.Invoke();
    }
}
