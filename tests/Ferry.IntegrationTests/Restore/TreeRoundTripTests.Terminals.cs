using System.Globalization;
using System.Text;
using Ferry.IntegrationTests.Dump;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Restore;

public sealed partial class TreeRoundTripTests
{
    [RootFact]
    public void A_pty_pair_comes_back_with_its_index_termios_window_queued_bytes_and_controlling_terminal()
    {
        using var target = DumpTarget.Start("pty_pair", passWorkDir: true);
        int index = target.Value("index"), master = target.Value("master"), slave = target.Value("slave");
        RoundTrip(target, []);
        try
        {
            Assert.Equal("/dev/ptmx", File.ResolveLinkTarget($"/proc/{target.Pid}/fd/{master}", false)!.ToString());
            Assert.Equal($"/dev/pts/{index}", File.ResolveLinkTarget($"/proc/{target.Pid}/fd/{slave}", false)!.ToString());
            // tty_nr of /proc/PID/stat: the slave controls the session again (major 136, the index as minor).
            Assert.Equal((136 << 8) | index, int.Parse(Stat(target.Pid)[4], CultureInfo.InvariantCulture));
            LibC.kill(target.Pid, SIGUSR1);
            Assert.Equal($"in=queued-in out=queued-out ping=ping pong=pong raw=1 window=33x111+7+9 index={index} ctty=1\n",
                WaitForFile(target, "pty.txt", 20));

            var info = Crit.Decode(target.Image("tty-info.img"))["entries"]!.AsArray();
            Assert.Equal([(index << 1) + 1, index << 1], info.Select(e => (int)e!["id"]!));
            Assert.All(info, e => Assert.Equal(target.Pid, (int)e!["sid"]!));
            // As CRIU packs them: ^C ^\ DEL ^U, the first four control characters in one value.
            Assert.All(info, e => Assert.Equal(0x157f1c03u, (uint)e!["termios"]!["c_cc"]![0]!));
            var data = Crit.Decode(target.Image("tty-data.img"))["entries"]!.AsArray()
                .ToDictionary(e => (int)e!["tty_id"]!, e => Encoding.ASCII.GetString(Convert.FromBase64String((string)e!["data"]!)));
            Assert.Equal("queued-out", data[(index << 1) + 1]);
            Assert.Equal("queued-in", data[index << 1]);
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    [RootFact]
    public void A_dump_that_leaves_the_process_running_puts_the_bytes_queued_in_its_pty_back()
    {
        using var target = DumpTarget.Start("pty_pair", passWorkDir: true);
        int index = target.Value("index");
        var dump = target.Dump("--leave-running");
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        // The dump read them out of the pair (a terminal cannot be peeked) and saved them...
        Assert.Equal(2, Crit.Decode(target.Image("tty-data.img"))["entries"]!.AsArray().Count);
        // ...and wrote them back where the program reads them.
        LibC.kill(target.Pid, SIGUSR1);
        Assert.Equal($"in=queued-in out=queued-out ping=ping pong=pong raw=1 window=33x111+7+9 index={index} ctty=1\n",
            WaitForFile(target, "pty.txt", 20));
    }

    /// <summary>CRIU 4.2's images of the same pair (opt-in: CRIU_BIN) restore with Ferry just as well.</summary>
    [CriuBinaryFact]
    public void A_pty_pair_dumped_by_criu_comes_back_with_ferry()
    {
        using var target = DumpTarget.Start("pty_pair", passWorkDir: true);
        int index = target.Value("index");
        CriuVector.BecomeSubreaper();
        var dump = FerryRoundTripTests.RunCriu("dump", "-t", $"{target.Pid}", "-D", target.ImagesDir, "-v4", "-o", "dump.log");
        Assert.True(dump.ExitCode == 0, $"criu dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        CriuVector.WaitUntilGone(target.Pid);
        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d", "-v4", "-o", "restore.log");
        Assert.True(restore.ExitCode == 0, $"ferry restore failed: {restore.StdErr}\n{Tail(target.Image("restore.log"))}");
        try
        {
            LibC.kill(target.Pid, SIGUSR1);
            Assert.Equal($"in=queued-in out=queued-out ping=ping pong=pong raw=1 window=33x111+7+9 index={index} ctty=1\n",
                WaitForFile(target, "pty.txt", 20));
        }
        finally
        {
            Kill(target.Pid);
        }
    }

    [RootFact]
    public void A_pty_index_taken_at_restore_time_is_a_one_line_error_that_names_it()
    {
        using var target = DumpTarget.Start("pty_pair", passWorkDir: true);
        int index = target.Value("index");
        CriuVector.BecomeSubreaper();
        var dump = target.Dump();
        Assert.True(dump.ExitCode == 0, $"ferry dump failed: {dump.StdErr}\n{target.DumpLog}");
        target.Process.WaitForExit(TimeSpan.FromSeconds(10));
        CriuVector.WaitUntilGone(target.Pid);
        using var squatter = TestPty.OpenAt(index);
        var restore = FerryBinary.Run("restore", "-D", target.ImagesDir, "-d");
        Assert.NotEqual(0, restore.ExitCode);
        Assert.Equal($"ferry restore: pty index {index} is taken: /dev/pts/{index} exists; the restore needs it free", restore.StdErr.Trim());
        Assert.False(CriuVector.Exists(target.Pid), "a process was left behind by the failed restore");
    }

    /// <summary>
    /// The first use of a checkpoint tool: a program started from a shell on the user's terminal. Without --shell-job
    /// the dump refuses (the terminal belongs to the shell's session) and the program carries on; with it, the restore
    /// run from another terminal puts the program there: it prints through it and reads what is typed.
    /// </summary>
    [RootFerryBinaryFact]
    public void A_shell_job_dumped_from_one_terminal_comes_back_on_the_terminal_ferry_restore_runs_on()
    {
        var work = Directory.CreateTempSubdirectory("ferry-shell-job-").FullName;
        var images = Directory.CreateDirectory(Path.Combine(work, "images")).FullName;
        try
        {
            using var first = TestPty.Open();
            int pid;
            using (var shell = first.StartSession("/bin/sh", "-c", $"{TestTargets.Path("tty_job")} {work}; exit 0"))
            {
                var ready = Path.Combine(work, "ready");
                Poll.Until(() => File.Exists(ready), "tty_job to be ready");
                pid = int.Parse(File.ReadAllText(ready).Trim(), CultureInfo.InvariantCulture);

                var refused = FerryBinary.Run("dump", "-t", $"{pid}", "-D", images);
                Assert.NotEqual(0, refused.ExitCode);
                Assert.Single(refused.StdErr.Trim().Split('\n'));
                Assert.Contains($"process {pid} has fd 0 open on {first.SlavePath}, the terminal of session {shell.Pid} outside the dumped tree", refused.StdErr);
                Assert.Contains("--shell-job", refused.StdErr);
                // Left running: it still answers on its terminal.
                Assert.Equal(0, LibC.kill(pid, SIGUSR1));
                first.WaitForOutput($"hello from {pid}");
                first.Type("still here\n");
                Poll.Until(() => ReadIfExists(Path.Combine(work, "typed.txt")) == "still here\n", "tty_job to read the line typed");

                var dump = FerryBinary.Run("dump", "-t", $"{pid}", "-D", images, "-o", "dump.log", "-v4", "--shell-job");
                Assert.True(dump.ExitCode == 0, $"ferry dump --shell-job failed: {dump.StdErr}");
                shell.WaitForExit(TimeSpan.FromSeconds(10));
            }
            CriuVector.WaitUntilGone(pid);
            var unasked = FerryBinary.Run("restore", "-D", images, "-d");
            Assert.Contains($"the dump has a terminal (tty {first.Index << 1}, {first.SlavePath}) that was outside the dumped tree; restore with --shell-job", unasked.StdErr);
            Assert.False(CriuVector.Exists(pid), "a process was left behind by the refused restore");

            using var second = TestPty.Open();
            using var ferry = second.StartSession(FerryBinary.Path!, "restore", "-D", images, "--shell-job", "-o", "restore.log", "-v4");
            // A signal sent before the tree is released would be lost with the husk's own pending signals.
            Poll.Until(() => ReadIfExists(Path.Combine(images, "restore.log"))?.Contains($"restored pid {pid}") == true, "ferry restore to release the tree");
            Assert.All(new[] { 0, 1, 2 }, fd => Assert.Equal(second.SlavePath, LinkOf(pid, fd)));
            Assert.Equal(0, LibC.kill(pid, SIGUSR1));
            second.WaitForOutput($"hello from {pid}");
            second.Type("typed after the restore\n");
            Poll.Until(() => ReadIfExists(Path.Combine(work, "typed.txt")) == "still here\ntyped after the restore\n", "the restored tty_job to read the line typed");
            LibC.kill(pid, Targets.TargetProcess.SIGKILL);
            ferry.WaitForExit(TimeSpan.FromSeconds(10));
            Assert.Equal(128 + Targets.TargetProcess.SIGKILL, ferry.Exit?.Code);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// The everyday case: an interactive shell runs the program as a job of its own (a process group it leads). Ferry
    /// restored from another interactive shell makes it the foreground job of that terminal, so Ctrl-C typed there
    /// reaches it, and the shell gets its prompt back when it ends.
    /// </summary>
    [RootFerryBinaryFact]
    public void A_job_of_an_interactive_shell_comes_back_in_the_foreground_of_the_terminal_ferry_restore_runs_on()
    {
        var work = Directory.CreateTempSubdirectory("ferry-shell-job-").FullName;
        var images = Directory.CreateDirectory(Path.Combine(work, "images")).FullName;
        try
        {
            using var first = TestPty.Open();
            int pid;
            using (first.StartSession("/bin/bash", "--norc", "--noprofile", "-i"))
            {
                first.Type($"{TestTargets.Path("tty_job")} {work}\n");
                var ready = Path.Combine(work, "ready");
                Poll.Until(() => File.Exists(ready), "tty_job to be ready");
                pid = int.Parse(File.ReadAllText(ready).Trim(), CultureInfo.InvariantCulture);
                Assert.Equal(pid, int.Parse(Stat(pid)[2], CultureInfo.InvariantCulture)); // its own job
                var dump = FerryBinary.Run("dump", "-t", $"{pid}", "-D", images, "-o", "dump.log", "-v4", "--shell-job");
                Assert.True(dump.ExitCode == 0, $"ferry dump --shell-job failed: {dump.StdErr}");
                CriuVector.WaitUntilGone(pid);
            }

            using var second = TestPty.Open();
            using var shell = second.StartSession("/bin/bash", "--norc", "--noprofile", "-i");
            second.Type($"{FerryBinary.Path} restore -D {images} --shell-job -o restore.log -v4; echo ferry-exit=$?\n");
            Poll.Until(() => ReadIfExists(Path.Combine(images, "restore.log"))?.Contains($"restored pid {pid}") == true, "ferry restore to release the tree");
            var stat = Stat(pid);
            // Its own group again, in the session of the second shell, whose terminal has it in the foreground.
            Assert.Equal((pid, shell.Pid, pid), (int.Parse(stat[2]), int.Parse(stat[3]), int.Parse(stat[5])));
            Assert.Equal(0, LibC.kill(pid, SIGUSR1));
            second.WaitForOutput($"hello from {pid}");
            second.Type("typed after the restore\n");
            Poll.Until(() => ReadIfExists(Path.Combine(work, "typed.txt")) == "typed after the restore\n", "the restored tty_job to read the line typed");
            second.Type("\u0003"); // Ctrl-C: SIGINT to the foreground group
            second.WaitForOutput("ferry-exit=130");
            Assert.False(CriuVector.Exists(pid), "tty_job outlived its Ctrl-C");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static string? ReadIfExists(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    static string? LinkOf(int pid, int fd)
    {
        try
        {
            return File.ResolveLinkTarget($"/proc/{pid}/fd/{fd}", false)?.ToString();
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>
/// A pty pair the test owns as the user's terminal: it holds the master, types into it and reads what programs print
/// on the slave. <see cref="StartSession"/> starts a program as the leader of a new session whose controlling
/// terminal is the slave, as a login shell has it.
/// </summary>
sealed unsafe class TestPty : IDisposable
{
    readonly HeldFd _master;
    readonly StringBuilder _output = new();

    TestPty(HeldFd master, int index)
    {
        _master = master;
        Index = index;
    }

    public int Index { get; }
    public string SlavePath => $"/dev/pts/{Index}";

    public static TestPty Open()
    {
        var master = HeldFd.Open("/dev/ptmx", OpenFlags.O_RDWR | OpenFlags.O_NOCTTY | OpenFlags.O_NONBLOCK, "a test terminal");
        int unlock = 0, index;
        if (TtyCalls.ioctl(master.Fd, TtyIoctl.TIOCSPTLCK, &unlock) < 0 || TtyCalls.ioctl(master.Fd, TtyIoctl.TIOCGPTN, &index) < 0)
            throw LinuxException.FromLastError("ioctl on the test pty");
        return new TestPty(master, index);
    }

    /// <summary>A pty with index <paramref name="index"/>, which must be free: ptys are opened (the lower ones held meanwhile) until it comes.</summary>
    public static TestPty OpenAt(int index)
    {
        var lower = new List<TestPty>();
        try
        {
            while (true)
            {
                var pty = Open();
                if (pty.Index == index) return pty;
                lower.Add(pty);
                Assert.True(pty.Index < index, $"pty index {index} was taken by another process before the test could");
            }
        }
        finally
        {
            foreach (var pty in lower) pty.Dispose();
        }
    }

    /// <summary>Opening the slave without O_NOCTTY right after setsid makes it the new session's controlling terminal.</summary>
    public ChildProcess StartSession(string program, params string[] arguments)
    {
        var terminal = new Stdio.FileStdio(SlavePath, OpenFlags.O_RDWR);
        return ChildProcess.Start(new SpawnOptions(program, arguments) { Stdin = terminal, Stdout = terminal, Stderr = terminal, NewSession = true });
    }

    public void Type(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes)
            Assert.Equal(bytes.Length, (int)LibC.write(_master.Fd, p, (nuint)bytes.Length));
    }

    /// <summary>Waits until what the programs printed on the terminal so far contains <paramref name="text"/>.</summary>
    public void WaitForOutput(string text) => Poll.Until(() =>
    {
        var buffer = new byte[4096];
        nint n;
        fixed (byte* p = buffer)
            while ((n = LibC.read(_master.Fd, p, (nuint)buffer.Length)) > 0)
                _output.Append(Encoding.ASCII.GetString(buffer, 0, (int)n));
        return _output.ToString().Contains(text, StringComparison.Ordinal);
    }, $"'{text}' on {SlavePath}");

    public void Dispose() => _master.Dispose();
}
