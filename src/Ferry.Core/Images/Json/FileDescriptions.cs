using System.Globalization;
using System.Text;
using Ferry.Images.Protos;

namespace Ferry.Images.Json;

/// <summary>
/// What each file id of an image directory is, in one short line as <c>crit x DIR fds</c> shows it: the path of
/// a regular file, pipe[ID], unix[INO (PEER) NAME], and for inet sockets the protocol, addresses and state.
/// Other kinds show as TYPE.ID.
/// </summary>
public sealed class FileDescriptions
{
    readonly Dictionary<uint, file_entry> files = [];

    /// <summary>Reads files.img of <paramref name="directory"/> (none if it has no such image).</summary>
    public FileDescriptions(ImageDirectory directory)
    {
        foreach (var file in directory.ReadFiles()) files[file.Id] = file;
    }

    /// <summary>The description of file <paramref name="id"/>, opened as <paramref name="type"/>.</summary>
    public string Describe(fd_types type, uint id)
    {
        if (!files.TryGetValue(id, out var file))
            return type == fd_types.Reg ? "unknown path" : $"{NameOf(type)}.{id}";
        return type switch
        {
            fd_types.Reg when file.Reg is { } reg => reg.Name,
            fd_types.Pipe when file.Pipe is { } pipe => $"pipe[{pipe.PipeId}]",
            fd_types.Fifo when file.Fifo is { } fifo => $"fifo[{fifo.PipeId}]",
            fd_types.Unixsk when file.Usk is { } unix => DescribeUnix(unix),
            fd_types.Inetsk when file.Isk is { } inet => DescribeInet(inet),
            _ => $"{NameOf(type)}.{id}",
        };
    }

    /// <summary>The proto name crit prints (e.g. "INETSK"), not the C# one.</summary>
    static string NameOf(fd_types type) =>
        fdinfo_entry.Descriptor.FindFieldByName("type").EnumType.FindValueByNumber((int)type)?.Name
        ?? ((int)type).ToString(CultureInfo.InvariantCulture);

    static string DescribeUnix(unix_sk_entry unix)
    {
        var name = unix.Name.Length == 0 ? ""
            : " " + (unix.Name.Span[0] == 0 ? "@" + Encoding.UTF8.GetString(unix.Name.Span[1..]) : Encoding.UTF8.GetString(unix.Name.Span));
        return $"unix[{unix.Ino} ({unix.Peer}){name}]";
    }

    static string DescribeInet(inet_sk_entry inet)
    {
        var sk = CritValueNames.DictMaps["sk"];
        var protocol = sk["proto"].GetValueOrDefault(inet.Proto, $"proto {inet.Proto}").ToLowerInvariant();
        var state = sk["state"].GetValueOrDefault(inet.State, $"state {inet.State}");
        var local = Endpoint(inet.SrcAddr, inet.SrcPort);
        var text = $"{protocol} {local}";
        if (inet.State != 10 && inet.DstPort != 0) text += $" -> {Endpoint(inet.DstAddr, inet.DstPort)}";
        return $"{text} {state}";
    }

    static string Endpoint(IReadOnlyList<uint> address, uint port)
    {
        var ip = IpAddressWords.Format(address) ?? "?";
        return ip.Contains(':') ? $"[{ip}]:{port}" : $"{ip}:{port}";
    }
}
