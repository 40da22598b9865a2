using Ferry.Linux;

namespace Ferry.Resources.Files;

/// <summary>
/// Reads the unread bytes of a pipe or FIFO without consuming them: tee() duplicates the buffers into a pipe of
/// Ferry's, which is then drained. The task's pipe keeps its data, so a dump that fails or leaves the task running
/// changes nothing.
/// </summary>
internal static unsafe class PipeContents
{
    /// <param name="fd">Ferry's copy of the task's descriptor.</param>
    /// <param name="flags">Its open flags: a write end is reopened for reading through /proc/self/fd.</param>
    public static (int BufferSize, byte[] Data) Peek(int fd, uint flags)
    {
        var readable = (flags & 3) is 0 or 2;
        var source = readable ? fd : LibC.open_fd($"/proc/self/fd/{fd}", OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC, 0);
        if (source < 0) throw LinuxException.FromLastError("open of a pipe's read side");
        try
        {
            var size = FileCalls.fcntl(source, OpenFlags.F_GETPIPE_SZ, 0);
            if (size < 0) throw LinuxException.FromLastError("F_GETPIPE_SZ");
            int unread;
            if (FileCalls.ioctl(source, FileCalls.FIONREAD, &unread) < 0) throw LinuxException.FromLastError("FIONREAD on a pipe");
            if (unread == 0) return (size, []);

            var copy = stackalloc int[2];
            if (LibC.pipe2(copy, OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK) < 0) throw LinuxException.FromLastError("pipe2");
            try
            {
                if (FileCalls.fcntl(copy[1], OpenFlags.F_SETPIPE_SZ, size) < 0) throw LinuxException.FromLastError("F_SETPIPE_SZ");
                var teed = FileCalls.tee(source, copy[1], (nuint)unread, FileCalls.SPLICE_F_NONBLOCK);
                if (teed < 0) throw LinuxException.FromLastError("tee of a pipe's unread data");
                if (teed != unread)
                    throw new IOException($"a pipe holds {unread} unread bytes but only {teed} could be copied");
                var data = new byte[unread];
                var done = 0;
                fixed (byte* p = data)
                    while (done < data.Length)
                    {
                        var n = LibC.read(copy[0], p + done, (nuint)(data.Length - done));
                        if (n <= 0) throw LinuxException.FromLastError("read of a pipe copy");
                        done += (int)n;
                    }
                return (size, data);
            }
            finally
            {
                LibC.close(copy[0]);
                LibC.close(copy[1]);
            }
        }
        finally
        {
            if (source != fd) LibC.close(source);
        }
    }
}
