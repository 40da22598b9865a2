using System.Runtime.ExceptionServices;
using Ferry.Linux;

namespace Ferry.Resources.Ipc;

/// <summary>
/// Runs work inside the IPC namespace of a process: System V calls and the IPC sysctls under /proc/sys (kernel/shm*,
/// msg*, sem*, fs/mqueue/*) act on the namespace of the calling thread, and setns(CLONE_NEWIPC) moves only the calling
/// thread. So the work runs on a fresh OS thread that joins the namespace and ends with the work: no other thread of
/// Ferry (nor a pooled one) ever runs in the other namespace.
/// </summary>
internal static class IpcNamespaceThread
{
    public static T Run<T>(int pid, Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Join(pid);
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, maxStackSize: 1 << 20) { Name = "ferry-ipc-ns", IsBackground = true };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    static void Join(int pid)
    {
        using var ns = File.OpenHandle($"/proc/{pid}/ns/ipc");
        if (LibC.syscall(Sys.setns, ns.DangerousGetHandle(), (long)CloneFlags.CLONE_NEWIPC, 0, 0, 0, 0) < 0)
            throw LinuxException.FromLastError("setns(CLONE_NEWIPC)", pid);
    }
}
