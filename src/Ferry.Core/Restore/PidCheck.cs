using Ferry.Diagnostics;

namespace Ferry.Restore;

/// <summary>Restore keeps every PID and TID as dumped, so each must be free here before anything is created.</summary>
public static class PidCheck
{
    /// <summary>Throws one line listing every PID and TID of the dump that is in use here, each with its holder.</summary>
    public static void EnsureFree(DumpSet set)
    {
        var taken = set.AllTids.Select(tid => (Tid: tid, Holder: Holder(tid))).Where(t => t.Holder is not null).ToList();
        if (taken.Count == 0)
            return;
        string list = string.Join("; ", taken.Select(t => $"{t.Tid} by {t.Holder}"));
        string which = taken.Count == 1 ? $"PID {taken[0].Tid} is taken by {taken[0].Holder}" : $"{taken.Count} PIDs are taken: {list}";
        throw new FerryException(
            $"{which}; stop those processes (or wait until they are reaped) and run the restore again, or restore with --pidns new");
    }

    /// <summary>Describes the process holding <paramref name="pid"/> (as a process or a thread), or null if it is free.</summary>
    public static string? Holder(int pid)
    {
        string dir = $"/proc/{pid}";
        string? status = ReadOrNull($"{dir}/status");
        if (status is null)
            return null;
        string tgid = Field(status, "Tgid:") ?? pid.ToString();
        string state = Field(status, "State:") ?? "?";
        string comm = (ReadOrNull($"/proc/{tgid}/comm") ?? "?").TrimEnd('\n');
        string cmdline = (ReadOrNull($"/proc/{tgid}/cmdline") ?? "").TrimEnd('\0').Replace('\0', ' ');
        string who = tgid == pid.ToString() ? $"pid {tgid}" : $"a thread of pid {tgid}";
        string zombie = state.StartsWith('Z') ? ", a zombie not yet reaped by its parent" : "";
        return $"{who} (comm '{comm}', cmdline '{cmdline}'{zombie})";
    }

    static string? Field(string status, string name)
    {
        foreach (var line in status.Split('\n'))
            if (line.StartsWith(name, StringComparison.Ordinal))
                return line[name.Length..].Trim();
        return null;
    }

    static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
