using Xunit;
using System.Diagnostics;

namespace Ferry.Tests.Procfs;

/// <summary>A `sleep` child to read /proc of (never ptraced, so System.Diagnostics.Process is fine here).</summary>
sealed class SleepProcess : IDisposable
{
    public Process Process { get; }
    public int Pid => Process.Id;

    public SleepProcess(string seconds = "100", string? environmentVariable = null)
    {
        var info = new ProcessStartInfo("sleep", seconds) { UseShellExecute = false };
        if (environmentVariable is not null) info.Environment[environmentVariable] = "ferry-test-value";
        Process = Process.Start(info)!;
        // Wait until exec has happened, so /proc shows sleep and not the forked .NET image.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ReadComm() != "sleep" && DateTime.UtcNow < deadline) Thread.Sleep(5);
    }

    string ReadComm()
    {
        try { return File.ReadAllText($"/proc/{Pid}/comm").Trim(); }
        catch (IOException) { return ""; }
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill();
        Process.WaitForExit();
        Process.Dispose();
    }
}
