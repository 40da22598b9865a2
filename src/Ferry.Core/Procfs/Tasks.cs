namespace Ferry.Procfs;

/// <summary>Threads (/proc/PID/task) and children (/proc/PID/task/TID/children) of a process.</summary>
public static class ProcTasks
{
    /// <summary>The thread ids of the process, sorted (the thread group leader first, as its tid is the pid).</summary>
    public static List<int> ReadThreadIds(int pid)
    {
        string[] names;
        try
        {
            names = Directory.GetDirectories(ProcFile.PathOf(pid, "task"));
        }
        catch (Exception e) when (ProcFile.IsMissingProcess(pid, e))
        {
            throw new ProcessNotFoundException(pid, e);
        }
        var tids = new List<int>(names.Length);
        foreach (string name in names)
            if (int.TryParse(Path.GetFileName(name), out int tid)) tids.Add(tid);
        tids.Sort((a, b) => a == pid ? -1 : b == pid ? 1 : a.CompareTo(b));
        return tids;
    }

    /// <summary>The children created by thread TID (space-separated pids).</summary>
    public static List<int> ReadChildren(int pid, int tid) =>
        ProcFile.Parse(pid, $"task/{tid}/children", ParseChildren);

    /// <summary>The children of every thread of the process.</summary>
    public static List<int> ReadAllChildren(int pid)
    {
        var children = new List<int>();
        foreach (int tid in ReadThreadIds(pid)) children.AddRange(ReadChildren(pid, tid));
        return children;
    }

    /// <summary>
    /// Of <paramref name="candidates"/> (PIDs or TIDs as seen here), the one whose id in its own, innermost pid
    /// namespace is <paramref name="innerPid"/> (the last NSpid entry); null when none is. Tasks gone meanwhile are skipped.
    /// </summary>
    public static int? WithInnerPid(IEnumerable<int> candidates, int innerPid)
    {
        foreach (int candidate in candidates)
        {
            try
            {
                if (ProcStatusFile.Read(candidate).NSpid is [.., var inner] && inner == innerPid)
                    return candidate;
            }
            catch (ProcessNotFoundException) { }
        }
        return null;
    }

    public static List<int> ParseChildren(ReadOnlySpan<byte> text, string source = "children")
    {
        var pids = new List<int>();
        var c = new ProcText(text, source);
        while (true)
        {
            while (!c.AtEnd && (c.Peek == ' ' || c.Peek == '\n')) c.TryConsume(c.Peek);
            if (c.AtEnd) break;
            pids.Add(c.ReadInt32());
        }
        return pids;
    }
}
