using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>A failed Linux call. The message names the call, the pid it was for (when any) and the errno name.</summary>
public class LinuxException : Exception
{
    public LinuxException(string call, int pid, int errno)
        : base($"{call}{(pid > 0 ? $" for pid {pid}" : "")} failed: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})")
    {
        Call = call;
        Pid = pid;
        ErrorNumber = errno;
    }

    /// <summary>What was called, e.g. "ptrace(PTRACE_GETREGS)" or "remote mmap".</summary>
    public string Call { get; }

    /// <summary>The process or thread the call was about; 0 when none.</summary>
    public int Pid { get; }

    public int ErrorNumber { get; }

    /// <summary>Throws for the errno of the last P/Invoke.</summary>
    public static LinuxException FromLastError(string call, int pid = 0) => new(call, pid, Marshal.GetLastPInvokeError());
}
