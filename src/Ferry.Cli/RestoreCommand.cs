using System.CommandLine;
using Ferry.Restore;

namespace Ferry.Cli;

/// <summary>`ferry restore -D DIR`: bring a checkpointed process tree back.</summary>
internal static class RestoreCommand
{
    public static Command Create()
    {
        var imagesDir = CommonOptions.ImagesDir();
        var detach = new Option<bool>("--restore-detached", "-d") { Description = "Detach from the restored tree (default: wait for it and exit with its status)" };
        var pidFile = CommonOptions.PidFile();
        var logFile = CommonOptions.LogFile();
        var workDir = CommonOptions.WorkDir();
        var verbosity = CommonOptions.Verbosity();
        var shellJob = CommonOptions.ShellJob();
        var tcpEstablished = CommonOptions.TcpEstablished();
        var tcpClose = CommonOptions.TcpClose();
        var timeout = CommonOptions.Timeout();
        var noDefaultConfig = CommonOptions.NoDefaultConfig();
        var pidns = new Option<string>("--pidns") { Description = "'host' keeps the original PIDs here; 'new' restores into a fresh PID namespace", DefaultValueFactory = _ => "host" };
        pidns.AcceptOnlyFromAmong("host", "new");

        var command = new Command("restore", "Restore a process tree from image files")
        {
            imagesDir, detach, pidFile, logFile, workDir, verbosity, shellJob, tcpEstablished, tcpClose, timeout, noDefaultConfig, pidns,
        };
        command.SetAction(parse => CliAction.Run("restore", () =>
        {
            var request = new RestoreRequest(parse.GetValue(imagesDir)!.FullName)
            {
                Detach = parse.GetValue(detach),
                ShellJob = parse.GetValue(shellJob),
                Tcp = DumpCommand.TcpPolicyFrom(parse.GetValue(tcpEstablished), parse.GetValue(tcpClose)),
                PidNamespace = parse.GetValue(pidns) == "new" ? PidNamespaceMode.New : PidNamespaceMode.Host,
            };
            _ = request;
            return CliAction.NotAvailable("restore", "restoring processes is issue 3");
        }));
        return command;
    }
}
