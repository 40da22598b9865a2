using System.CommandLine;
using Ferry.Images.Json;

namespace Ferry.Cli;

/// <summary>`ferry encode -i JSON -o IMG`: crit's JSON back to a binary image ("-" for stdin/stdout).</summary>
internal static class EncodeCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--in", "-i")
        {
            Description = "JSON image to encode (\"-\" for stdin)",
            DefaultValueFactory = _ => "-",
        };
        var output = new Option<string>("--out", "-o")
        {
            Description = "Image file to write (\"-\" for stdout)",
            DefaultValueFactory = _ => "-",
        };
        var command = new Command("encode", "Convert crit's JSON of an image back to the binary image (crit encode)") { input, output };
        command.SetAction(parse => ImageTextCommands.Encode(parse.GetValue(input)!, parse.GetValue(output)!,
            Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error));
        return command;
    }
}
