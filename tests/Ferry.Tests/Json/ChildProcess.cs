using System.Diagnostics;

namespace Ferry.Tests.Json;

/// <summary>
/// Runs a program to completion and returns its exit code, output and error text. Only .NET reaps it: a waitpid
/// of our own on a child that System.Diagnostics.Process started makes the runtime's reaper fail fast (ECHILD).
/// </summary>
internal static class ChildProcess
{
    public static (int ExitCode, byte[] Output, string Error) Run(string program, IEnumerable<string> args, byte[]? stdin = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        process.StandardInput.BaseStream.Write(stdin ?? []);
        process.StandardInput.Close();
        copy.Wait();
        var errorText = error.Result;
        return (WaitForExitCode(process), output.ToArray(), errorText);
    }

    static int WaitForExitCode(Process process)
    {
        if (process.WaitForExit(TimeSpan.FromSeconds(60)))
            return process.ExitCode;
        process.Kill();
        throw new TimeoutException($"{process.StartInfo.FileName} did not exit within 60 s");
    }
}
