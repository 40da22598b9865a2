using System.Globalization;

namespace Ferry.Procfs;

/// <summary>The one-value files of /proc/PID and the NUL-separated lists.</summary>
public static class ProcMisc
{
    /// <summary>argv, as the NUL-separated /proc/PID/cmdline (empty for kernel threads and zombies).</summary>
    public static string[] ReadCmdline(int pid) => SplitNul(ProcFile.ReadAllBytes(pid, "cmdline"));

    /// <summary>The initial environment, "NAME=value" strings.</summary>
    public static string[] ReadEnviron(int pid) => SplitNul(ProcFile.ReadAllBytes(pid, "environ"));

    /// <summary>The comm (thread name of the leader), without the newline.</summary>
    public static string ReadComm(int pid) => ProcFile.ReadAllText(pid, "comm").TrimEnd('\n');

    public static uint ReadPersonality(int pid) => (uint)ParseNumber(pid, "personality", hex: true);

    /// <summary>The audit login uid; 4294967295 means unset.</summary>
    public static uint ReadLoginUid(int pid) => (uint)ParseNumber(pid, "loginuid", hex: false);

    public static int ReadOomScoreAdj(int pid) => (int)ParseNumber(pid, "oom_score_adj", hex: false);

    public static string[] SplitNul(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return [];
        if (bytes[^1] == 0) bytes = bytes[..^1];
        var parts = new List<string>();
        foreach (var range in bytes.Split((byte)0)) parts.Add(ProcText.Decode(bytes[range]));
        return parts.ToArray();
    }

    static long ParseNumber(int pid, string name, bool hex)
    {
        string text = ProcFile.ReadAllText(pid, name).Trim();
        bool ok = hex
            ? long.TryParse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long value)
            : long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        return ok ? value : throw new ProcFormatException(ProcFile.PathOf(pid, name), 0, hex ? "a hex number" : "a decimal number");
    }
}
