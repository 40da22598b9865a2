using System.CommandLine;
using Ferry.Check;

namespace Ferry.Cli;

/// <summary>`ferry check [--json]`: which kernel features work here, and whether dump and restore can.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the result as JSON for scripts" };
        var features = new Option<string[]>("--feature") { Description = "Only ask whether these CRIU-named features are usable (exit 0 if all are), as `criu check --feature` does" };
        var command = new Command("check", "Probe the running kernel for the features checkpoint/restore needs (exit 0 when dump and restore can work)")
        {
            json, features,
            CommonOptions.Verbosity(), CommonOptions.LogFile(), CommonOptions.NoDefaultConfig(),
            new Option<bool>("--all") { Description = "Accepted for CRIU compatibility: every probe always runs" },
            new Option<bool>("--extra") { Description = "Accepted for CRIU compatibility: every probe always runs" },
            new Option<bool>("--experimental") { Description = "Accepted for CRIU compatibility: every probe always runs" },
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(features) is { Length: > 0 } asked)
            {
                var answers = asked.Select(CriuFeatures.Query).ToList();
                foreach (var answer in answers) Console.WriteLine(answer.Explanation);
                return answers.All(a => a.Supported) ? 0 : 1;
            }
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
