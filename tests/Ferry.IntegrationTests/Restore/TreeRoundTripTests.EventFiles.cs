using Ferry.Images.Protos;
using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    const int SIGUSR1Number = 10;

    /// <summary>
    /// event_loop's eventfd, timerfd, signalfd, inotify, fanotify and epoll descriptors come back with their kernel state (read
    /// from the restored process's fdinfo) and go on working: the epoll set reports what is ready and takes MOD/DEL by
    /// the old fd numbers, the timer keeps its period and expirations, a signal pending at dump and one sent after are
    /// read from the signalfd, inotify reports a file made after the restore and fanotify one opened, and threads blocked in read() of a
    /// timerfd and in epoll_wait() go on.
    /// </summary>
    [RootFact]
    public void Event_loop_descriptors_keep_their_state_and_fd_numbers_and_work_on_after_restore()
    {
        using var target = DumpTarget.Start("event_loop", passWorkDir: true);
        int pid = target.Pid, efd = target.Value("efd"), tfd = target.Value("tfd"), sfd = target.Value("sfd"),
            ifd = target.Value("ifd"), ffd = target.Value("ffd"), ep = target.Value("ep"), spare = target.Value("spare");
        // A periodic timerfd not read stands still at its first expiration (fdinfo: 1 tick, no time left) until it is
        // read or asked for the time; timer.log shows 50 ms have passed, so at least 2 expirations are due by the dump.
        Poll.Until(() => Ticks(pid, tfd) >= 1 && File.Exists(Path.Combine(target.WorkDir, "timer.log")), "expirations of both timers");
        var epollBefore = FdInfoLines(pid, ep, "tfd:");
        var inotifyBefore = FdInfoLines(pid, ifd, "inotify ");
        var fanotifyBefore = FdInfoLines(pid, ffd, "fanotify ");
        var atDump = RoundTrip(target, ["timer"]);
        try
        {
            var files = Dump.Images.Entries<file_entry>(target.Image("files.img"));
            var timer = Assert.Single(files, f => f.Tfd is { Clockid: 1, Isec: 0, Insec: 20_000_000 }).Tfd;
            Assert.True(timer.Ticks >= 2, $"{timer.Ticks} expirations saved");
            Assert.Contains(files, f => f.Efd is { Counter: 3 } e && (e.Flags & 1) != 0);
            Assert.Contains(files, f => f.Sgfd is { Sigmask: 0xa00 });
            Assert.Equal(5, Assert.Single(files, f => f.Epfd is { Tfd.Count: 5 }).Epfd.Tfd.Count);
            Assert.Equal(2u, Assert.Single(Assert.Single(files, f => f.Ify is not null).Ify.Wd).Wd);
            if (Crit.Available)
            {
                var types = Crit.Decode(target.Image("files.img"))["entries"]!.AsArray().Select(e => (string)e!["type"]!).ToHashSet();
                Assert.Superset(new HashSet<string> { "EVENTFD", "TIMERFD", "SIGNALFD", "EVENTPOLL", "INOTIFY", "FANOTIFY" }, types);
            }

            // The kernel's own view after the restore.
            Assert.Contains("eventfd-count:                3", FdInfo(pid, efd));
            Assert.Contains("eventfd-semaphore: 1", FdInfo(pid, efd));
            Assert.Contains("flags:\t04002", FdInfo(pid, efd));
            Assert.Contains("it_interval: (0, 20000000)", FdInfo(pid, tfd));
            Assert.Contains("sigmask:\t0000000000000a00", FdInfo(pid, sfd));
            Assert.Equal(epollBefore.Order(), FdInfoLines(pid, ep, "tfd:").Order());
            Assert.Equal(inotifyBefore, FdInfoLines(pid, ifd, "inotify "));
            Assert.Equal(fanotifyBefore.Order(), FdInfoLines(pid, ffd, "fanotify ").Order());

            Poll.Until(() => target.LastCount("timer") > atDump["timer"] + 5, "the thread blocked in read() of a timerfd to count on");
            target.AssertCountsWithoutGap("timer");

            File.WriteAllText(Path.Combine(target.WorkDir, "watched", "made-after-restore"), "");
            Assert.Equal("ready 111 222 333 444", Command(target, 'w'));
            LibC.kill(pid, SIGUSR1Number);
            Assert.Equal("signals 10 12", Command(target, 's'));
            Assert.Equal("inotify 2 made-after-restore", Command(target, 'i'));
            File.ReadAllText(Path.Combine(target.WorkDir, "marked"));
            Assert.Equal("fanotify opens 1", Command(target, 'f'));
            Assert.Equal("read 1", Command(target, 'e'));
            Assert.Contains("eventfd-count:                2", FdInfo(pid, efd));
            var ticks = ulong.Parse(Command(target, 't').Split(' ')[1]);
            Assert.True(ticks >= timer.Ticks, $"read {ticks} expirations after the restore, {timer.Ticks} were saved");

            var modified = Command(target, 'm').Split(' ');
            Assert.Equal(["mod", "0", "del", "0", "ready"], modified[..5]);
            Assert.Contains("112", modified[5..]);
            Assert.DoesNotContain("111", modified[5..]);
            Assert.DoesNotContain(FdInfoLines(pid, ep, "tfd:"), line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] == spare.ToString());

            Command(target, 'k');
            Assert.Equal("woke 1", WaitForFile(target, "woke.txt", 7).Trim());
        }
        finally
        {
            Kill(pid);
        }
    }

    static string FdInfo(int pid, int fd) => File.ReadAllText($"/proc/{pid}/fdinfo/{fd}");

    static List<string> FdInfoLines(int pid, int fd, string prefix) =>
        FdInfo(pid, fd).Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    static ulong Ticks(int pid, int fd) =>
        ulong.Parse(FdInfoLines(pid, fd, "ticks:").Single()["ticks:".Length..].Trim());

    /// <summary>Sends event_loop a one-letter command on its control pipe and returns its answer.</summary>
    static string Command(DumpTarget target, char letter)
    {
        var answer = Path.Combine(target.WorkDir, $"{letter}.txt");
        File.Delete(answer);
        using (var pipe = new FileStream($"/proc/{target.Pid}/fd/{target.Value("ctl")}", FileMode.Open, FileAccess.Write))
            pipe.WriteByte((byte)letter);
        Poll.Until(() => File.Exists(answer), $"event_loop's answer to '{letter}'");
        return File.ReadAllText(answer).Trim();
    }
}
