namespace Ferry.IntegrationTests.Support;

/// <summary>Waits for something a real process does in its own time.</summary>
public static class Poll
{
    // Generous: a loaded 2-core CI machine runs the programs slowly; only a failing test waits this long.
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static void Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {Patience.TotalSeconds} s waiting for {what}");
            Thread.Sleep(5);
        }
    }
}
