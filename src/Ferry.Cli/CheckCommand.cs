using System.CommandLine;
using Ferry.Check;

namespace Ferry.Cli;

/// <summary>`ferry check [--json]`: which kernel features work here, and whether dump and restore can.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the result as JSON for scripts" };
        var command = new Command("check", "Probe the running kernel for the features checkpoint/restore needs (exit 0 when dump and restore can work)")
        {
            json,
        };
        command.SetAction(parse =>
        {
            var rows = KernelCheck.Run();
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                CheckReport.WriteJson(stdout, rows);
                stdout.Write("\n"u8);
            }
            else
            {
                CheckReport.WriteText(Console.Out, rows);
            }
            return KernelCheck.CanDumpAndRestore(rows) ? 0 : 1;
        });
        return command;
    }
}
