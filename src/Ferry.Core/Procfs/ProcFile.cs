using System.Text;

namespace Ferry.Procfs;

/// <summary>The process a /proc file belongs to does not exist (any more).</summary>
public sealed class ProcessNotFoundException(int pid, Exception? inner = null)
    : Exception($"process {pid} does not exist (no /proc/{pid})", inner)
{
    public int Pid { get; } = pid;
}

/// <summary>A /proc file did not have the expected shape.</summary>
public sealed class ProcFormatException(string source, int offset, string expected)
    : Exception($"{source}: offset {offset}: expected {expected}")
{
    public string Source_ { get; } = source;
    public int Offset { get; } = offset;
}

/// <summary>Reads whole /proc files; turns a vanished process into <see cref="ProcessNotFoundException"/>.</summary>
public static class ProcFile
{
    /// <summary>Files larger than this are refused: /proc text files of one process are far smaller.</summary>
    const int MaxSize = 256 << 20;

    public static string PathOf(int pid, string name) => $"/proc/{pid}/{name}";

    /// <summary>The whole content of /proc/PID/NAME. /proc files report size 0, so read until EOF.</summary>
    public static byte[] ReadAllBytes(int pid, string name)
    {
        string path = PathOf(pid, name);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            var buffer = new byte[16384];
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= MaxSize) throw new IOException($"{path}: larger than {MaxSize} bytes");
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                int n = stream.Read(buffer, length, buffer.Length - length);
                if (n == 0) break;
                length += n;
            }
            return buffer.AsSpan(0, length).ToArray();
        }
        catch (Exception e) when (IsMissingProcess(pid, e))
        {
            throw new ProcessNotFoundException(pid, e);
        }
    }

    public static string ReadAllText(int pid, string name) => Encoding.UTF8.GetString(ReadAllBytes(pid, name));

    /// <summary>
    /// An open/read failure means "process gone" when /proc/PID itself is gone; ESRCH on read
    /// (a task exiting while we read) surfaces as IOException too.
    /// </summary>
    internal static bool IsMissingProcess(int pid, Exception e) =>
        e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException
        && !Directory.Exists($"/proc/{pid}");

    internal static void EnsureProcessExists(int pid)
    {
        if (!Directory.Exists($"/proc/{pid}")) throw new ProcessNotFoundException(pid);
    }
}
