namespace Ferry.Cli;

/// <summary>
/// Rewrites CRIU's getopt-style spellings that System.CommandLine does not parse by itself,
/// so scripts written for `criu` work unchanged: `-v4` (level glued to the flag) and `-vvv` (one level per v).
/// </summary>
internal static class CriuArguments
{
    /// <summary>CRIU's log level when no -v is given; each bare v adds one.</summary>
    public const int DefaultVerbosity = 2;

    public static string[] Normalize(IEnumerable<string> args)
    {
        var result = new List<string>();
        bool operands = false;
        foreach (var arg in args)
        {
            // After "--" come a program's own arguments (ferry run -- grep -v x): leave them alone.
            operands |= arg == "--";
            if (operands)
            {
                result.Add(arg);
                continue;
            }
            if (arg.Length >= 2 && arg[0] == '-' && arg[1] == 'v' && arg != "-v" || arg == "-v")
            {
                var rest = arg[2..];
                if (rest.Length > 0 && rest.All(char.IsAsciiDigit))
                {
                    result.Add("--verbosity");
                    result.Add(rest);
                    continue;
                }
                if (rest.All(c => c == 'v'))
                {
                    result.Add("--verbosity");
                    result.Add((DefaultVerbosity + 1 + rest.Length).ToString());
                    continue;
                }
            }
            result.Add(arg);
        }
        return result.ToArray();
    }
}
