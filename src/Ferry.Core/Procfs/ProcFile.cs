using System.Buffers;
using System.Text;

namespace Ferry.Procfs;

/// <summary>The process a /proc file belongs to does not exist (any more).</summary>
public sealed class ProcessNotFoundException(int pid, Exception? inner = null)
    : Exception($"process {pid} does not exist (no /proc/{pid})", inner)
{
    public int Pid { get; } = pid;
}

/// <summary>A /proc file did not have the expected shape.</summary>
public sealed class ProcFormatException(string file, int offset, string expected)
    : Exception($"{file}: offset {offset}: expected {expected}")
{
    /// <summary>The /proc path (or the name given to Parse) of the bad text.</summary>
    public string File { get; } = file;
    public int Offset { get; } = offset;
}

/// <summary>A parser of a whole /proc file; <paramref name="source"/> names the file in errors.</summary>
public delegate T ProcParser<T>(ReadOnlySpan<byte> text, string source);

/// <summary>Reads whole /proc files; turns a vanished process into <see cref="ProcessNotFoundException"/>.</summary>
public static class ProcFile
{
    /// <summary>Files larger than this are refused: /proc text files of one process are far smaller.</summary>
    const int MaxSize = 256 << 20;

    public static string PathOf(int pid, string name) => $"/proc/{pid}/{name}";

    /// <summary>The whole content of /proc/PID/NAME. /proc files report size 0, so read until EOF.</summary>
    public static byte[] ReadAllBytes(int pid, string name) => Parse(pid, name, static (text, _) => text.ToArray());

    /// <summary>Reads /proc/PID/NAME into a pooled buffer and parses it there: no per-read garbage but the result.</summary>
    public static T Parse<T>(int pid, string name, ProcParser<T> parse)
    {
        string path = PathOf(pid, name);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            int length = 0;
            try
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= MaxSize) throw new IOException($"{path}: larger than {MaxSize} bytes");
                        byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    // Sequential reads (offset = bytes so far): seq_file files need them in order.
                    int n = RandomAccess.Read(handle, buffer.AsSpan(length), length);
                    if (n == 0) break;
                    length += n;
                }
            }
            catch (Exception e) when (IsMissingProcess(pid, e))
            {
                throw new ProcessNotFoundException(pid, e);
            }
            return parse(buffer.AsSpan(0, length), path);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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
