using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ferry.Tests.Json;

/// <summary>
/// Runs a program to completion and returns its exit code, output and error text. The exit status is reaped
/// with waitpid as a fallback: when another test has reset SIGCHLD to SIG_DFL inside this test host (see
/// ProcessSetup.ResetChildSignal), .NET's own reaper no longer hears of child exits and WaitForExit would hang.
/// </summary>
internal static partial class ChildProcess
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
        const int noHang = 1; // WNOHANG
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var reaped = waitpid(process.Id, out var status, noHang);
            if (reaped == process.Id)
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            if (reaped < 0)
            {
                process.WaitForExit(); // .NET reaped it: its handler is in place
                return process.ExitCode;
            }
            Thread.Sleep(5);
        }
        process.Kill();
        throw new TimeoutException($"{process.StartInfo.FileName} did not exit within 60 s");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);
}
