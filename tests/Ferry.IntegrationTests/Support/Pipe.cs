using System.Text;
using Ferry.Linux;

namespace Ferry.IntegrationTests.Support;

/// <summary>A pipe made with pipe2(O_CLOEXEC), to hand one end to a spawned program.</summary>
public sealed unsafe class Pipe : IDisposable
{
    Pipe(int readFd, int writeFd)
    {
        ReadFd = readFd;
        WriteFd = writeFd;
    }

    public int ReadFd { get; private set; }
    public int WriteFd { get; private set; }

    public static Pipe Create()
    {
        var fds = stackalloc int[2];
        if (LibC.pipe2(fds, OpenFlags.O_CLOEXEC) < 0) throw LinuxException.FromLastError("pipe2");
        return new Pipe(fds[0], fds[1]);
    }

    public void Write(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
            if (LibC.write(WriteFd, p, (nuint)bytes.Length) != bytes.Length) throw LinuxException.FromLastError("write to pipe");
    }

    /// <summary>Reads what is in the pipe now (up to 4 KiB).</summary>
    public string Read()
    {
        var buffer = new byte[4096];
        fixed (byte* p = buffer)
        {
            var n = LibC.read(ReadFd, p, (nuint)buffer.Length);
            if (n < 0) throw LinuxException.FromLastError("read from pipe");
            return Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    public void CloseRead()
    {
        if (ReadFd >= 0) LibC.close(ReadFd);
        ReadFd = -1;
    }

    public void Dispose()
    {
        CloseRead();
        if (WriteFd >= 0) LibC.close(WriteFd);
        WriteFd = -1;
    }
}
