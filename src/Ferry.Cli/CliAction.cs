using Ferry.Diagnostics;

namespace Ferry.Cli;

/// <summary>Runs a verb's work and turns failures into CRIU-like exit codes with a one-line message.</summary>
internal static class CliAction
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static int Run(string verb, Func<int> work)
    {
        try
        {
            return work();
        }
        catch (FerryException e)
        {
            Console.Error.WriteLine($"ferry {verb}: {e.Message}");
            return Failed;
        }
        catch (Ferry.Linux.LinuxException e)
        {
            Console.Error.WriteLine($"ferry {verb}: {e.Message}");
            return Failed;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"ferry {verb}: {e.Message}");
            return Failed;
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"ferry {verb}: {e.Message} (run as root)");
            return Failed;
        }
    }

    /// <summary>For verbs whose action is planned but not built yet: say so plainly instead of pretending.</summary>
    public static int NotAvailable(string verb, string plannedIn)
    {
        Console.Error.WriteLine($"ferry {verb}: not available in this version yet ({plannedIn}); the options given were accepted.");
        return Failed;
    }
}
