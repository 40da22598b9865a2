using System.CommandLine;
using Ferry.Images.Json;

namespace Ferry.Cli;

/// <summary>`ferry show PATH [--summary]`: an image (or every image of a directory) as crit's pretty JSON.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "An image file, or an image directory" };
        var summary = new Option<bool>("--summary")
        {
            Description = "For a directory: the process tree, open files and memory maps instead of JSON",
        };
        var command = new Command("show", "Show CRIU images as crit's JSON (crit show / crit decode --pretty)") { path, summary };
        command.SetAction(parse => ImageTextCommands.Show(parse.GetValue(path)!, parse.GetValue(summary), Console.Out, Console.Error));
        return command;
    }
}
