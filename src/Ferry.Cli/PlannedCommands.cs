using System.CommandLine;

namespace Ferry.Cli;

/// <summary>CRIU verbs whose Ferry implementation is planned: they parse CRIU's options and say that they are not built yet.</summary>
internal static class PlannedCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Planned("pre-dump", "Copy memory while the tree runs, for a later dump with less frozen time", "live migration");
        yield return Planned("page-server", "Receive pages from a remote dump over the network", "live migration");
        yield return Planned("lazy-pages", "Serve pages to a restored tree on demand (post-copy)", "live migration");
        yield return Planned("swrk", "CRIU RPC service on an inherited socket, as container runtimes use it", "the RPC interface");
    }

    static Command Planned(string name, string description, string plannedIn)
    {
        var command = new Command(name, $"{description} (not available yet)")
        {
            CommonOptions.ImagesDir(), CommonOptions.LogFile(), CommonOptions.WorkDir(), CommonOptions.Verbosity(), CommonOptions.NoDefaultConfig(),
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(_ => CliAction.NotAvailable(name, plannedIn));
        return command;
    }
}
