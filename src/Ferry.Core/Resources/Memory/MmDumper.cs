using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;
using Ferry.Tracing;

namespace Ferry.Resources.Memory;

/// <summary>
/// mm-PID.img: the address-space fields (code, data, brk, stack, arguments, environment), the auxiliary vector,
/// the executable and the VMAs. /proc/PID/stat has all but the current brk, which only brk(0) in the task tells.
/// </summary>
internal static class MmDumper
{
    /// <param name="facts">What only the task can give: brk, dumpable, THP-disabled (<see cref="TaskState.TaskQuestions"/>).</param>
    public static mm_entry Dump(int pid, ProcStat stat, TaskState.ProcessAnswers facts, FileTable files, IEnumerable<vma_entry> vmas)
    {
        var mm = new mm_entry
        {
            MmStartCode = stat.StartCode, MmEndCode = stat.EndCode,
            MmStartData = stat.StartData, MmEndData = stat.EndData,
            MmStartStack = stat.StartStack,
            MmStartBrk = stat.StartBrk, MmBrk = facts.Brk,
            MmArgStart = stat.ArgStart, MmArgEnd = stat.ArgEnd,
            MmEnvStart = stat.EnvStart, MmEnvEnd = stat.EnvEnd,
            ExeFileId = ExeFileId(pid, files),
            Dumpable = facts.Dumpable,
            ThpDisabled = facts.ThpDisabled,
        };
        mm.MmSavedAuxv.Add(FitForCriu(ProcAuxv.ReadWords(pid)));
        mm.Vmas.Add(vmas);
        return mm;
    }

    /// <summary>
    /// CRIU (x86-64) keeps at most 44 words of the auxiliary vector and refuses an mm image with more; this kernel's
    /// vector is 22 entries and the AT_NULL pair (46 words). The AT_NULL pair is dropped when only it does not fit:
    /// PR_SET_MM_MAP ends the vector with AT_NULL itself. Entries are never dropped.
    /// </summary>
    static ulong[] FitForCriu(ulong[] words)
    {
        const int CriuAuxvWords = 44;
        return words.Length > CriuAuxvWords && !words.AsSpan(CriuAuxvWords).ContainsAnyExcept(0UL) ? words[..CriuAuxvWords] : words;
    }

    static uint ExeFileId(int pid, FileTable files)
    {
        var target = new FileInfo($"/proc/{pid}/exe").LinkTarget
            ?? throw new IOException($"process {pid} has no executable link");
        const string deleted = " (deleted)";
        var isDeleted = target.EndsWith(deleted, StringComparison.Ordinal);
        var name = isDeleted ? target[..^deleted.Length] : target;
        return files.ByPath($"/proc/{pid}/exe", name, isDeleted, (uint)OpenFlags.O_RDONLY, recordSize: true);
    }
}
