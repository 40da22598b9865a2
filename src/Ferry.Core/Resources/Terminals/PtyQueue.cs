using Ferry.Linux;

namespace Ferry.Resources.Terminals;

/// <summary>
/// The bytes waiting to be read at one end of a pty. A terminal cannot be peeked: they are read out (non-blocking for
/// the moment, the description's flags put back after) and written again where they belong.
/// </summary>
internal static unsafe class PtyQueue
{
    /// <summary>More than any pty buffers (the kernel's n_tty holds 4 KiB of input, a pty 64 KiB of output).</summary>
    const int Limit = 1 << 20;

    public static byte[] Take(int fd, int flags)
    {
        if (FileCalls.fcntl(fd, OpenFlags.F_SETFL, flags | OpenFlags.O_NONBLOCK) < 0)
            throw LinuxException.FromLastError("fcntl(F_SETFL, O_NONBLOCK) on a pty");
        try
        {
            var data = new MemoryStream();
            var buffer = new byte[16384];
            while (data.Length < Limit)
            {
                nint n;
                fixed (byte* p = buffer) n = LibC.read(fd, p, (nuint)buffer.Length);
                if (n > 0)
                {
                    data.Write(buffer, 0, (int)n);
                    continue;
                }
                var error = n < 0 ? LinuxException.FromLastError("read of a pty's queue") : null;
                if (error is not null && error.ErrorNumber == Errno.EINTR) continue;
                // EAGAIN: nothing more; EIO: the other end is gone; 0: end of file.
                if (error is not null && error.ErrorNumber is not (Errno.EAGAIN or Errno.EIO)) throw error;
                break;
            }
            return data.ToArray();
        }
        finally
        {
            FileCalls.fcntl(fd, OpenFlags.F_SETFL, flags);
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> into <paramref name="fd"/>. Like CRIU, a terminal that takes less is no error:
    /// a terminal never promised delivery, and the restore must not stop for it.
    /// </summary>
    public static void Put(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
            LibC.write(fd, p, (nuint)data.Length);
    }
}
