namespace Ferry.Procfs;

/// <summary>
/// /proc/PID/fdinfo/N. The four common lines are parsed; every other line is kept in order as
/// (key, value): "eventfd-count" → "5", "tfd" → "5 events:19 data:…", "inotify" → "wd:1 ino:… sdev:…",
/// "clockid" → "1", "it_value" → "(0, 0)"… Keys repeat for per-watch lines (tfd, inotify, fanotify).
/// </summary>
public sealed record FdInfo(long Pos, uint Flags, int MntId, ulong Ino, IReadOnlyList<KeyValuePair<string, string>> Extra)
{
    /// <summary>The value of the first line with this key, or null.</summary>
    public string? Get(string key)
    {
        foreach (var pair in Extra)
            if (pair.Key == key) return pair.Value;
        return null;
    }

    /// <summary>All values of lines with this key (e.g. every "tfd" line of an epoll fd).</summary>
    public IEnumerable<string> GetAll(string key) => Extra.Where(p => p.Key == key).Select(p => p.Value);

    /// <summary>The hexadecimal value of <paramref name="key"/> among tokens of <see cref="SplitTokens"/>; null when absent or not hex.</summary>
    public static ulong? HexToken(IReadOnlyDictionary<string, string> tokens, string key) =>
        tokens.TryGetValue(key, out var text) && ulong.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier,
            System.Globalization.CultureInfo.InvariantCulture, out ulong value) ? value : null;

    /// <summary>Splits "wd:1 ino:2 sdev:3" into ("wd","1"), ("ino","2"), ("sdev","3").</summary>
    public static List<KeyValuePair<string, string>> SplitTokens(string value)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        string? pendingKey = null;
        foreach (var token in value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = token.IndexOf(':');
            if (pendingKey is not null) { pairs.Add(new(pendingKey, token)); pendingKey = null; }
            else if (colon == token.Length - 1) pendingKey = token[..colon];
            else if (colon > 0) pairs.Add(new(token[..colon], token[(colon + 1)..]));
        }
        return pairs;
    }
}

/// <summary>Parser of /proc/PID/fdinfo/N.</summary>
public static class ProcFdInfo
{
    public static FdInfo Read(int pid, int fd) =>
        ProcFile.Parse(pid, $"fdinfo/{fd}", Parse);

    /// <summary>Lines of these kinds repeat, one per watch/target, and have "key:value" tokens after the word.</summary>
    static readonly string[] WordKeys = ["inotify", "fanotify", "fanotify flags", "tfd"];

    public static FdInfo Parse(ReadOnlySpan<byte> text, string source = "fdinfo")
    {
        long pos = 0;
        uint flags = 0;
        int mntId = -1;
        ulong ino = 0;
        var extra = new List<KeyValuePair<string, string>>();
        var c = new ProcText(text, source);
        while (!c.AtEnd)
        {
            int start = c.Position;
            var line = c.ReadLine();
            if (line.IsEmpty) continue;
            int colon = line.IndexOf((byte)':');
            int space = line.IndexOfAny((byte)' ', (byte)'\t');
            // "inotify wd:1 …" and "fanotify ino:…": the key is the first word, not the text before ':'.
            int keyEnd = space >= 0 && (colon < 0 || space < colon) ? space : colon;
            if (keyEnd <= 0) throw new ProcFormatException(source, start, "'key:' or 'word key:value…'");
            var key = line[..keyEnd];
            var value = new ProcText(text, source);
            value.Seek(start + keyEnd + (keyEnd == colon ? 1 : 0));
            value.SkipSpaces();
            if (key.SequenceEqual("pos"u8)) pos = value.ReadSigned();
            else if (key.SequenceEqual("flags"u8)) flags = (uint)value.ReadOctal();
            else if (key.SequenceEqual("mnt_id"u8)) mntId = value.ReadInt32();
            else if (key.SequenceEqual("ino"u8)) ino = value.ReadUnsigned();
            else
            {
                string k = ProcText.Decode(key);
                if (keyEnd == space && colon > space && !WordKeys.Contains(k))
                {
                    // A key with a space in it, such as "settime flags: 01".
                    keyEnd = colon;
                    k = ProcText.Decode(line[..colon]);
                }
                extra.Add(new(k, ProcText.Decode(line[(keyEnd + (keyEnd == colon ? 1 : 0))..]).Trim()));
            }
        }
        return new FdInfo(pos, flags, mntId, ino, extra);
    }
}
