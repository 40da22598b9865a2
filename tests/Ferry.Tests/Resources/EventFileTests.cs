using System.Text;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Eventfd;
using Ferry.Resources.Eventpoll;
using Ferry.Resources.Inotify;
using Ferry.Resources.Signalfd;
using Ferry.Resources.Timerfd;
using Xunit;

namespace Ferry.Tests.Resources;

/// <summary>
/// The event descriptors' fdinfo lines as the images keep them, and real descriptors of this process taken apart
/// and made again (the restore's half) with the same kernel state.
/// </summary>
public sealed unsafe class EventFileTests
{
    static readonly fown_entry NoOwner = new() { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 };

    static FdInfo Info(string text) => ProcFdInfo.Parse(Encoding.UTF8.GetBytes("pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t26\n" + text));

    [Fact]
    public void An_eventfd_keeps_its_hex_count_and_its_semaphore_mode_in_bit_0_of_the_flags()
    {
        var entry = EventfdFile.Dump(4, 0x802, NoOwner, Info("eventfd-count:               1f\neventfd-id: 3\neventfd-semaphore: 1\n"), "fd 5 of process 9");
        Assert.Equal((31UL, 0x803u), (entry.Counter, entry.Flags));
        var bad = Assert.Throws<FerryException>(() => EventfdFile.Dump(4, 2, NoOwner, Info("eventfd-count: x1\n"), "fd 5 of process 9"));
        Assert.Equal("fdinfo of fd 5 of process 9: 'eventfd-count: x1' is not a hexadecimal count", bad.Message);
        var missing = Assert.Throws<FerryException>(() => SignalfdFile.Dump(4, 2, NoOwner, Info(""), "fd 6 of process 9"));
        Assert.Equal("fdinfo of fd 6 of process 9 has no 'sigmask:' line", missing.Message);
    }

    [Fact]
    public void A_timerfd_line_set_gives_clock_ticks_flags_and_both_times()
    {
        var entry = TimerfdFile.FromFdInfo(7, 0x802, NoOwner,
            Info("clockid: 0\nticks: 12\nsettime flags: 03\nit_value: (2, 999990336)\nit_interval: (1, 500)\n"), "fd 8");
        Assert.Equal((0u, 12UL, 3u, 2UL, 999990336UL, 1UL, 500UL),
            (entry.Clockid, entry.Ticks, entry.SettimeFlags, entry.Vsec, entry.Vnsec, entry.Isec, entry.Insec));
        var bad = Assert.Throws<FerryException>(() => TimerfdFile.FromFdInfo(7, 2, NoOwner,
            Info("clockid: 0\nticks: 12\nsettime flags: 09\nit_value: (2, 1)\nit_interval: (1, 500)\n"), "fd 8"));
        Assert.Equal("fdinfo of fd 8: 'settime flags: 09' is not an octal number", bad.Message);
        Assert.Throws<FerryException>(() => TimerfdFile.FromFdInfo(7, 2, NoOwner,
            Info("clockid: 0\nticks: 12\nsettime flags: 0\nit_value: (2 1)\nit_interval: (1, 500)\n"), "fd 8"));
    }

    [Fact]
    public void Epoll_and_inotify_watch_lines_parse_and_bad_ones_are_named()
    {
        var watch = EventpollDumper.Parse("      5 events: 80000019 data:      1234  pos:0 ino:1a sdev:10", "epoll fd 3");
        Assert.Equal((5u, 0x80000019u, 0x1234UL, 0x1aUL, 0x10u), (watch.Tfd, watch.Events, watch.Data, watch.Inode, watch.Dev));
        var old = EventpollDumper.Parse("5 events: 19 data: 7", "epoll fd 3");
        Assert.False(old.HasInode);
        Assert.Throws<FerryException>(() => EventpollDumper.Parse("five events: 19 data: 7", "epoll fd 3"));

        var wd = InotifyDumper.Parse(9, "wd:2 ino:35a sdev:fe00000 mask:80000002 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:5a03000000000001", "fd 4");
        Assert.Equal((9u, 2u, 0x35aUL, 0xfe00000u, 0x80000002u), (wd.Id, wd.Wd, wd.IIno, wd.SDev, wd.Mask));
        Assert.Equal((8u, 1u, 16), (wd.FHandle.Bytes, wd.FHandle.Type, wd.FHandle.Handle.Count));
        Assert.Equal(0x010000000000035aUL, wd.FHandle.Handle[0]);
        var shortHandle = Assert.Throws<FerryException>(() =>
            InotifyDumper.Parse(9, "wd:2 ino:35a sdev:fe00000 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:5a03", "fd 4"));
        Assert.StartsWith("fdinfo of fd 4: 'inotify: wd:2", shortHandle.Message);
    }

    [Fact]
    public void An_absolute_timer_is_saved_as_time_left_and_armed_again_at_now_plus_that()
    {
        using var original = new HeldFd((int)LibC.syscall(Sys.timerfd_create, 1, OpenFlags.O_CLOEXEC, 0, 0, 0, 0));
        long* now = stackalloc long[2];
        Assert.Equal(0, LibC.syscall(Sys.clock_gettime, 1, (long)now, 0, 0, 0, 0));
        long* at = stackalloc long[4] { 0, 0, now[0] + 100, now[1] }; // 100 s from now, on CLOCK_MONOTONIC
        Assert.Equal(0, LibC.syscall(Sys.timerfd_settime, original.Fd, 1, (long)at, 0, 0, 0));
        var entry = TimerfdFile.Dump(1, 2, NoOwner, original, "test timerfd");
        Assert.Equal(1u, entry.SettimeFlags);
        Assert.InRange(entry.Vsec, 98UL, 99UL); // time left, not the absolute time
        using var copy = TimerfdFile.Open(entry);
        long* left = stackalloc long[4];
        Assert.Equal(0, LibC.syscall(Sys.timerfd_gettime, copy.Fd, (long)left, 0, 0, 0, 0));
        Assert.InRange(left[2], 97L, 99L);
        Assert.Contains("settime flags: 01", File.ReadAllText($"/proc/self/fdinfo/{copy.Fd}"));
    }

    [Fact]
    public void A_fanotify_mark_on_a_whole_filesystem_is_refused_in_one_line_as_CRIU_cannot_store_it()
    {
        var info = Info("fanotify flags:12 event-flags:8000\nfanotify sdev:1b mflags:0 mask:8 ignored_mask:0\n");
        var refused = Assert.Throws<FerryException>(() => Ferry.Resources.Fanotify.FanotifyDumper.Dump(3, 2, NoOwner, info, 9, "fd 4 of process 9"));
        Assert.StartsWith("fd 4 of process 9 has a fanotify mark on a whole filesystem ('sdev:1b mflags:0 mask:8 ignored_mask:0')", refused.Message);
        var noGroup = Assert.Throws<FerryException>(() => Ferry.Resources.Fanotify.FanotifyDumper.Dump(3, 2, NoOwner, Info(""), 9, "fd 4"));
        Assert.Equal("fdinfo of fd 4 has no 'fanotify flags:' line", noGroup.Message);
    }

    [Fact]
    public void A_semaphore_eventfd_comes_back_with_its_count_and_mode()
    {
        using var original = new HeldFd((int)LibC.syscall(Sys.eventfd2, 5, 1 | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC, 0, 0, 0, 0));
        var info = ProcFdInfo.Read(Environment.ProcessId, original.Fd);
        var entry = EventfdFile.Dump(1, info.Flags & ~(uint)OpenFlags.O_CLOEXEC, NoOwner, info, "test eventfd");
        using var copy = EventfdFile.Open(entry);
        var restored = File.ReadAllText($"/proc/self/fdinfo/{copy.Fd}");
        Assert.Contains("eventfd-count:                5", restored);
        Assert.Contains("eventfd-semaphore: 1", restored);
        Assert.Equal(ProcFdInfo.Read(Environment.ProcessId, original.Fd).Flags, ProcFdInfo.Read(Environment.ProcessId, copy.Fd).Flags);
    }

    [Fact]
    public void A_periodic_timerfd_expired_and_unread_comes_back_armed_with_its_expirations()
    {
        using var original = new HeldFd((int)LibC.syscall(Sys.timerfd_create, 1, OpenFlags.O_CLOEXEC, 0, 0, 0, 0));
        long* every5ms = stackalloc long[4] { 0, 5_000_000, 0, 5_000_000 };
        Assert.Equal(0, LibC.syscall(Sys.timerfd_settime, original.Fd, 0, (long)every5ms, 0, 0, 0));
        // Unread, it stands still at one expiration; the dump forwards it to all that are due.
        while (!File.ReadAllText($"/proc/self/fdinfo/{original.Fd}").Contains("ticks: 1")) Thread.Yield();
        var entry = TimerfdFile.Dump(1, 2, NoOwner, original, "test timerfd");
        Assert.Equal((1u, 0UL, 5_000_000UL), (entry.Clockid, entry.Isec, entry.Insec));
        Assert.True(entry.Vsec != 0 || entry.Vnsec != 0, "the dumped timer is armed");
        using var copy = TimerfdFile.Open(entry);
        ulong ticks;
        Assert.Equal(8, LibC.read(copy.Fd, (byte*)&ticks, 8));
        Assert.True(ticks >= entry.Ticks && entry.Ticks >= 1, $"read {ticks}, dumped {entry.Ticks}");
        Assert.Equal(8, LibC.read(copy.Fd, (byte*)&ticks, 8)); // blocks until the next period: it goes on
        Assert.Contains("it_interval: (0, 5000000)", File.ReadAllText($"/proc/self/fdinfo/{copy.Fd}"));
    }
}
