namespace Ferry.Procfs;

/// <summary>One line of /proc/PID/mountinfo (escaped characters decoded).</summary>
/// <param name="OptionalFields">Propagation tags such as "shared:1", "master:2", "unbindable".</param>
public sealed record MountInfoEntry(
    int MountId, int ParentId, uint DevMajor, uint DevMinor, string Root, string MountPoint,
    string MountOptions, string[] OptionalFields, string FsType, string Source, string SuperOptions);

/// <summary>Parser of /proc/PID/mountinfo.</summary>
public static class ProcMountInfo
{
    public static List<MountInfoEntry> Read(int pid) =>
        ProcFile.Parse(pid, "mountinfo", Parse);

    public static List<MountInfoEntry> Parse(ReadOnlySpan<byte> text, string source = "mountinfo")
    {
        var entries = new List<MountInfoEntry>();
        var c = new ProcText(text, source);
        while (!c.AtEnd)
        {
            int id = c.ReadInt32();
            c.Expect((byte)' ');
            int parent = c.ReadInt32();
            c.Expect((byte)' ');
            uint major = (uint)c.ReadUnsigned();
            c.Expect((byte)':');
            uint minor = (uint)c.ReadUnsigned();
            c.Expect((byte)' ');
            string root = ProcText.Unescape(c.ReadToken());
            c.Expect((byte)' ');
            string mountPoint = ProcText.Unescape(c.ReadToken());
            c.Expect((byte)' ');
            string options = ProcText.Decode(c.ReadToken());
            var optional = new List<string>();
            while (true)
            {
                c.Expect((byte)' ');
                var token = c.ReadToken();
                if (token.SequenceEqual("-"u8)) break;
                optional.Add(ProcText.Decode(token));
            }
            c.Expect((byte)' ');
            string fsType = ProcText.Unescape(c.ReadToken());
            c.Expect((byte)' ');
            string src = ProcText.Unescape(c.ReadToken());
            c.Expect((byte)' ');
            string superOptions = ProcText.Unescape(c.ReadLine());
            entries.Add(new MountInfoEntry(id, parent, major, minor, root, mountPoint, options,
                optional.ToArray(), fsType, src, superOptions));
        }
        return entries;
    }
}
