namespace Ferry.Cli;

/// <summary>
/// Rewrites CRIU's getopt-style spellings that System.CommandLine does not parse by itself,
/// so scripts written for `criu` work unchanged: `-v4` (level glued to the flag), `-vvv` (one level per v)
/// and zdtm's `-verbosity=0`.
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
            if (arg.StartsWith("-v", StringComparison.Ordinal))
            {
                result.Add("--verbosity");
                result.Add(VerbosityOf(arg[2..]).ToString());
                continue;
            }
            result.Add(arg);
        }
        return result.ToArray();
    }

    /// <summary>
    /// What CRIU's getopt makes of the text glued to -v: only v's add one level each; anything else is read as a
    /// number the way atoi reads it (so zdtm's "-verbosity=0" means level 0, as it does for CRIU).
    /// </summary>
    static int VerbosityOf(string glued)
    {
        if (glued.All(c => c == 'v')) return DefaultVerbosity + 1 + glued.Length;
        var digits = glued.TakeWhile(char.IsAsciiDigit).ToArray();
        return digits.Length == 0 ? 0 : int.Parse(digits);
    }
}
