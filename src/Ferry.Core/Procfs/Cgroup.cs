using System.Text;

namespace Ferry.Procfs;

/// <summary>
/// One line of /proc/PID/task/TID/cgroup: the task's cgroup <paramref name="Path"/> in one hierarchy, named by its
/// <paramref name="Controllers"/> as the kernel lists them ("cpu,cpuacct", "name=systemd"; empty for cgroup v2).
/// </summary>
public sealed record CgroupMembership(int Hierarchy, string Controllers, string Path);

/// <summary>Parser of /proc/PID/task/TID/cgroup ("hierarchy-id:controllers:path" per line).</summary>
public static class ProcCgroup
{
    public static List<CgroupMembership> Read(int pid, int tid) => ProcFile.Parse(pid, $"task/{tid}/cgroup", Parse);

    public static List<CgroupMembership> Parse(ReadOnlySpan<byte> text, string source = "cgroup")
    {
        var result = new List<CgroupMembership>();
        var offset = 0;
        foreach (var line in Encoding.UTF8.GetString(text).Split('\n'))
        {
            if (line.Length > 0)
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3 || !int.TryParse(parts[0], out var hierarchy) || !parts[2].StartsWith('/'))
                    throw new ProcFormatException(source, offset, $"'hierarchy:controllers:/path', found '{line}'");
                result.Add(new CgroupMembership(hierarchy, parts[1], parts[2]));
            }
            offset += Encoding.UTF8.GetByteCount(line) + 1;
        }
        return result;
    }
}
