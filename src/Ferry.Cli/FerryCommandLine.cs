using System.CommandLine;

namespace Ferry.Cli;

/// <summary>The `ferry` command tree. Each verb lives in its own *Command class.</summary>
internal static class FerryCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Ferry: checkpoint, restore and live migration of Linux process trees (CRIU-compatible).");
        root.Subcommands.Add(ShowCommand.Create());
        root.Subcommands.Add(EncodeCommand.Create());
        return root;
    }
}
