using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ferry.Linux;

namespace Ferry.Check;

/// <summary>Probes of TCP repair mode, the cgroup freezer and network namespaces with veth pairs.</summary>
internal static class SystemProbes
{
    const int SOL_TCP = 6, TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20, TCP_QUEUE_SEQ = 21, TCP_SEND_QUEUE = 2;

    public static string TcpRepair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        client.Send("ferry"u8);

        Span<byte> value = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(value, 1);
        try
        {
            client.SetRawSocketOption(SOL_TCP, TCP_REPAIR, value);
        }
        catch (SocketException e)
        {
            throw new FeatureMissingException($"setsockopt(TCP_REPAIR) failed: {e.Message} (it needs CAP_NET_ADMIN)");
        }
        BinaryPrimitives.WriteInt32LittleEndian(value, TCP_SEND_QUEUE);
        client.SetRawSocketOption(SOL_TCP, TCP_REPAIR_QUEUE, value);
        client.GetRawSocketOption(SOL_TCP, TCP_QUEUE_SEQ, value);
        var sequence = BinaryPrimitives.ReadUInt32LittleEndian(value);
        BinaryPrimitives.WriteInt32LittleEndian(value, 0);
        client.SetRawSocketOption(SOL_TCP, TCP_REPAIR, value);
        return $"repair mode on a loopback connection; send queue sequence 0x{sequence:x8}";
    }

    public static string CgroupFreezer()
    {
        var found = new List<string>();
        var errors = new List<string>();
        foreach (var (version, root, freezeFile, frozen, thawed) in new[]
                 {
                     ("v1", "/sys/fs/cgroup/freezer", "freezer.state", "FROZEN", "THAWED"),
                     ("v2", "/sys/fs/cgroup/unified", "cgroup.freeze", "1", "0"),
                     ("v2", "/sys/fs/cgroup", "cgroup.freeze", "1", "0"),
                 })
        {
            if (!File.Exists(Path.Combine(root, "cgroup.procs")) || found.Any(f => f.StartsWith(version, StringComparison.Ordinal))) continue;
            try
            {
                found.Add($"{version} ({root}): frozen in {FreezeHelper(root, freezeFile, frozen, thawed, version == "v1"):0.0} ms");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FeatureMissingException or LinuxException)
            {
                errors.Add($"{version} ({root}): {e.Message}");
            }
        }
        if (found.Count == 0)
            throw new FeatureMissingException(errors.Count > 0 ? string.Join("; ", errors) : "no freezer cgroup hierarchy is mounted");
        return string.Join("; ", found);
    }

    /// <summary>Moves a helper into a fresh cgroup, freezes and thaws it, then removes everything. Returns ms to freeze.</summary>
    static double FreezeHelper(string root, string freezeFile, string frozen, string thawed, bool v1)
    {
        var cgroup = Path.Combine(root, $"ferry-check-{Environment.ProcessId}");
        Directory.CreateDirectory(cgroup);
        try
        {
            using var helper = ProbeHelper.Start(seize: false);
            try
            {
                File.WriteAllText(Path.Combine(cgroup, "cgroup.procs"), helper.Pid.ToString());
                var clock = Stopwatch.StartNew();
                File.WriteAllText(Path.Combine(cgroup, freezeFile), frozen);
                while (!IsFrozen(cgroup, v1, frozen))
                {
                    if (clock.ElapsedMilliseconds > 2000) throw new FeatureMissingException("the cgroup did not freeze in 2 s");
                    Thread.Sleep(1);
                }
                return clock.Elapsed.TotalMilliseconds;
            }
            finally
            {
                File.WriteAllText(Path.Combine(cgroup, freezeFile), thawed);
                File.WriteAllText(Path.Combine(root, "cgroup.procs"), helper.Pid.ToString());
            }
        }
        finally
        {
            Directory.Delete(cgroup);
        }
    }

    static bool IsFrozen(string cgroup, bool v1, string frozen) => v1
        ? File.ReadAllText(Path.Combine(cgroup, "freezer.state")).Trim() == frozen
        : File.ReadLines(Path.Combine(cgroup, "cgroup.events")).Contains("frozen 1");

    public static string NetnsVeth()
    {
        using var helper = ProbeHelper.Start();
        helper.Task.SyscallOrThrow(Sys.unshare, (long)CloneFlags.CLONE_NEWNET);
        var ours = new FileInfo("/proc/self/ns/net").LinkTarget;
        var its = new FileInfo($"/proc/{helper.Pid}/ns/net").LinkTarget;
        if (ours == its) throw new FeatureMissingException("unshare(CLONE_NEWNET) left the helper in our network namespace");

        var name = $"fck{helper.Pid}";
        Ip("link", "add", name + "a", "type", "veth", "peer", "name", name + "b", "netns", helper.Pid.ToString());
        try
        {
            Ip("link", "show", name + "a");
        }
        finally
        {
            Ip("link", "del", name + "a"); // removes both ends
        }
        return $"a new network namespace ({its}) with one end of a veth pair";
    }

    /// <summary>Runs ip(8); it is never traced, so System.Diagnostics.Process is safe here.</summary>
    static void Ip(params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process? ip;
        try
        {
            ip = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FeatureMissingException($"cannot run ip (iproute2): {e.Message}");
        }
        using (ip)
        {
            var errors = ip!.StandardError.ReadToEndAsync();
            ip.StandardOutput.ReadToEnd();
            ip.WaitForExit();
            if (ip.ExitCode != 0) throw new FeatureMissingException($"ip {string.Join(' ', arguments)} failed: {errors.Result.Trim()}");
        }
    }
}
