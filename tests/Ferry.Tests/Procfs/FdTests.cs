using Xunit;
using System.IO.Pipes;
using System.Text;
using Ferry.Procfs;

namespace Ferry.Tests.Procfs;

public class FdTests
{
    [Fact]
    public void ListsPipesAndDeletedFilesOfSelf()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        string path = Path.Combine(Path.GetTempPath(), $"ferry-fd-{Guid.NewGuid():N} x");
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        File.Delete(path);
        int pipeFd = (int)pipe.SafePipeHandle.DangerousGetHandle();
        int fileFd = (int)file.SafeFileHandle.DangerousGetHandle();

        var fds = ProcFds.Read(Environment.ProcessId);
        var pipeEntry = fds.Single(f => f.Fd == pipeFd);
        Assert.Equal(FdTargetKind.Pipe, pipeEntry.Kind);
        Assert.Equal(new FileInfo($"/proc/self/fd/{pipeFd}").LinkTarget, $"pipe:[{pipeEntry.Inode}]");
        var fileEntry = fds.Single(f => f.Fd == fileFd);
        Assert.Equal((FdTargetKind.Path, true, path), (fileEntry.Kind, fileEntry.Deleted, fileEntry.Path));
        Assert.Equal(fds.OrderBy(f => f.Fd).Select(f => f.Fd), fds.Select(f => f.Fd));
    }

    [Fact]
    public void ClassifiesLinkTargets()
    {
        Assert.Equal((FdTargetKind.Socket, 12345UL), Kind(ProcFds.Classify(3, "socket:[12345]")));
        Assert.Equal((FdTargetKind.Pipe, 7UL), Kind(ProcFds.Classify(3, "pipe:[7]")));
        var eventfd = ProcFds.Classify(3, "anon_inode:[eventfd]");
        Assert.Equal((FdTargetKind.AnonInode, "eventfd"), (eventfd.Kind, eventfd.AnonName));
        Assert.Equal("inotify", ProcFds.Classify(3, "anon_inode:inotify").AnonName);
        Assert.Equal(FdTargetKind.Other, ProcFds.Classify(3, "net:[4026531840]").Kind);
        Assert.Equal(FdTargetKind.Other, ProcFds.Classify(3, "pipe:[x]").Kind);
        var deleted = ProcFds.Classify(3, "/a (deleted) b (deleted)");
        Assert.Equal(("/a (deleted) b", true), (deleted.Path, deleted.Deleted));
        static (FdTargetKind, ulong) Kind(FdEntry e) => (e.Kind, e.Inode);
    }

    [Fact]
    public void FdInfoOfAnOpenFileShowsPosFlagsMountAndInode()
    {
        string path = Path.GetTempFileName();
        try
        {
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
            file.Write(new byte[1234]);
            file.Flush();
            int fd = (int)file.SafeFileHandle.DangerousGetHandle();
            var info = ProcFdInfo.Read(Environment.ProcessId, fd);
            Assert.Equal(1234, info.Pos);
            Assert.NotEqual(0u, info.Flags & 1); // O_WRONLY (FileMode.Append opens write-only; .NET seeks rather than using O_APPEND)
            Assert.NotEqual(0u, info.Flags & 0x80000); // O_CLOEXEC: .NET opens everything close-on-exec
            Assert.True(info.MntId > 0);
            Assert.Equal(GetInode(path), info.Ino);
        }
        finally { File.Delete(path); }
    }

    static unsafe ulong GetInode(string path)
    {
        byte* buffer = stackalloc byte[256]; // struct stat is 144 bytes on x86-64; st_ino is at offset 8
        Assert.Equal(0, Stat(path, buffer));
        return *(ulong*)(buffer + 8);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "stat")]
    static extern unsafe int Stat(string path, byte* buffer);

    [Fact]
    public void FdInfoKeepsKindSpecificLines()
    {
        const string text = "pos:\t0\nflags:\t02004002\nmnt_id:\t15\nino:\t1057\n" +
            "tfd:        5 events:       19 data:                5  pos:0 ino:61 sdev:7\n" +
            "tfd:        6 events:        1 data:                6  pos:0 ino:62 sdev:7\n" +
            "inotify wd:1 ino:2a sdev:fe00000 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:1\n" +
            "eventfd-count:                5\neventfd-id: 3\nclockid: 1\nticks: 0\nsettime flags: 01\n" +
            "it_value: (0, 9989)\nit_interval: (0, 10000000)\n";
        var info = ProcFdInfo.Parse(Encoding.UTF8.GetBytes(text));
        Assert.Equal((0L, 0x80802u, 15, 1057UL), (info.Pos, info.Flags, info.MntId, info.Ino));
        Assert.Equal(2, info.GetAll("tfd").Count());
        Assert.Equal("5 events:       19 data:                5  pos:0 ino:61 sdev:7", info.Get("tfd"));
        var watch = FdInfo.SplitTokens(info.Get("inotify")!);
        Assert.Equal(new KeyValuePair<string, string>("wd", "1"), watch[0]);
        Assert.Equal("2a", watch.Single(p => p.Key == "ino").Value);
        Assert.Equal("5", info.Get("eventfd-count"));
        Assert.Equal("01", info.Get("settime flags"));
        Assert.Equal("(0, 10000000)", info.Get("it_interval"));
        var tfd = FdInfo.SplitTokens("5 events:       19 data:                5  pos:0");
        Assert.Equal(["19", "5", "0"], tfd.Select(p => p.Value));
    }
}
