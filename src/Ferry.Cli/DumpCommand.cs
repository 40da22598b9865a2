using System.CommandLine;
using Ferry.Checkpoint;

namespace Ferry.Cli;

/// <summary>`ferry dump -t PID -D DIR`: checkpoint a process tree into CRIU-format images.</summary>
internal static class DumpCommand
{
    public static Command Create()
    {
        var tree = new Option<int>("--tree", "-t") { Description = "PID of the root of the process tree to checkpoint", Required = true };
        var imagesDir = CommonOptions.ImagesDir();
        var leaveRunning = new Option<bool>("--leave-running", "-R") { Description = "Let the tree run on after the dump (default: kill it)" };
        var leaveStopped = new Option<bool>("--leave-stopped", "-s") { Description = "Leave the tree stopped after the dump" };
        var logFile = CommonOptions.LogFile();
        var workDir = CommonOptions.WorkDir();
        var verbosity = CommonOptions.Verbosity();
        var shellJob = CommonOptions.ShellJob();
        var tcpEstablished = CommonOptions.TcpEstablished();
        var tcpClose = CommonOptions.TcpClose();
        var timeout = CommonOptions.Timeout();
        var noDefaultConfig = CommonOptions.NoDefaultConfig();

        var command = new Command("dump", "Checkpoint a running process tree into image files")
        {
            tree, imagesDir, leaveRunning, leaveStopped, logFile, workDir, verbosity, shellJob, tcpEstablished, tcpClose, timeout, noDefaultConfig,
        };
        command.SetAction(parse => CliAction.Run("dump", () =>
        {
            var request = new DumpRequest(parse.GetValue(tree), parse.GetValue(imagesDir)!.FullName)
            {
                LeaveRunning = parse.GetValue(leaveRunning),
                LeaveStopped = parse.GetValue(leaveStopped),
                ShellJob = parse.GetValue(shellJob),
                Tcp = TcpPolicyFrom(parse.GetValue(tcpEstablished), parse.GetValue(tcpClose)),
                FreezeTimeout = parse.GetValue(timeout) is int s ? TimeSpan.FromSeconds(s) : null,
            };
            _ = request;
            return CliAction.NotAvailable("dump", "checkpointing live processes is issue 3");
        }));
        return command;
    }

    internal static TcpPolicy TcpPolicyFrom(bool established, bool close) =>
        close ? TcpPolicy.Close : established ? TcpPolicy.Repair : TcpPolicy.Refuse;
}
