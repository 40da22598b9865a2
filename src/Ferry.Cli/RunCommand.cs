using System.CommandLine;
using System.Runtime.InteropServices;
using Ferry.Namespaces;

namespace Ferry.Cli;

/// <summary>
/// `ferry run [--pidfile F] [-d] -- CMD ARGS...`: start a program in its own pid and mount namespaces (own /proc)
/// under ferry-init, so that a later restore can give it back its PIDs without any possible conflict.
/// Without -d, wait and exit with the program's status (128 + signal when killed), passing SIGTERM, SIGINT,
/// SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 on to it; with -d print "PROGRAM_PID INIT_PID" (our namespace's PIDs)
/// and return at once.
/// </summary>
internal static class RunCommand
{
    static readonly int[] ForwardedSignals = [1, 2, 3, 10, 12, 15]; // SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM

    public static Command Create()
    {
        var detach = new Option<bool>("--detach", "-d") { Description = "Return at once, printing the program's and the init's PIDs" };
        var pidFile = new Option<FileInfo?>("--pidfile") { Description = "Write the program's PID (as seen from here) to this file" };
        var program = new Argument<string[]>("command")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "The program (a path, or a name found in PATH) and its arguments; put '--' before it",
        };
        var command = new Command("run", "Run a program in a new PID namespace (own /proc) under Ferry's init, ready to be dumped")
        {
            detach, pidFile, program,
        };
        command.SetAction(parse => CliAction.Run("run", () =>
        {
            string[] argv = parse.GetValue(program)!;
            using var run = NamespacedProgram.Start(argv[0], argv[1..]);
            if (parse.GetValue(pidFile) is { } file) File.WriteAllText(file.FullName, run.ProgramPid.ToString());
            if (parse.GetValue(detach))
            {
                run.Detach();
                Console.WriteLine($"{run.ProgramPid} {run.InitPid}");
                return CliAction.Ok;
            }
            var registrations = ForwardedSignals.Select(signal => PosixSignalRegistration.Create((PosixSignal)signal, context =>
            {
                context.Cancel = true;
                run.Signal(signal);
            })).ToList();
            try
            {
                return run.WaitForExit();
            }
            finally
            {
                foreach (var registration in registrations) registration.Dispose();
            }
        }));
        return command;
    }
}
