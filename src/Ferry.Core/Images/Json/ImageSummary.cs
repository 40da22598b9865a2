using System.Globalization;
using System.Text;
using Ferry.Images.Protos;

namespace Ferry.Images.Json;

/// <summary>
/// A readable overview of an image directory, what crit's explorers show (<c>crit x DIR ps</c>, <c>fds</c>,
/// <c>mems</c>) in one report: the process tree, then per process its open files and its memory map with the
/// pages dumped for each mapping.
/// </summary>
public static class ImageSummary
{
    const int PageSize = 4096;

    public static string Describe(string path)
    {
        var directory = ImageDirectory.Open(path);
        if (!directory.Exists(ImageNames.Pstree))
            throw new ImageFormatException(directory.PathOf(ImageNames.Pstree), 0, "the process tree of an image directory");
        var processes = directory.ReadPstree();
        var comms = new Dictionary<uint, string>();
        foreach (var process in processes)
        {
            if (!comms.TryAdd(process.Pid, Comm(directory, (int)process.Pid)))
                throw new ImageFormatException(directory.PathOf(ImageNames.Pstree), 0, $"each pid once, found {process.Pid} twice");
        }
        var files = new FileDescriptions(directory);
        var text = new StringBuilder();

        text.Append("Process tree\n");
        text.Append(CultureInfo.InvariantCulture, $"{"PID",7}{"PPID",7}{"PGID",7}{"SID",7}   COMM\n");
        AppendTree(text, processes, comms);

        foreach (var process in processes)
        {
            text.Append(CultureInfo.InvariantCulture, $"\nProcess {process.Pid} ({comms[process.Pid]})\n");
            if (process.Threads.Count > 1) text.Append("  threads: ").AppendJoin(' ', process.Threads).Append('\n');
            AppendFiles(text, directory, (int)process.Pid, files);
            AppendMemory(text, directory, (int)process.Pid, files);
        }
        return text.ToString();
    }

    /// <summary>Each process under its parent, indented by depth; a process whose parent was not dumped is a root.</summary>
    static void AppendTree(StringBuilder text, IReadOnlyList<pstree_entry> processes, Dictionary<uint, string> comms)
    {
        var pids = processes.Select(p => p.Pid).ToHashSet();
        var children = processes.ToLookup(p => p.Ppid);
        void Append(pstree_entry p, int depth)
        {
            text.Append(CultureInfo.InvariantCulture, $"{p.Pid,7}{p.Ppid,7}{p.Pgid,7}{p.Sid,7}   {new string(' ', 4 * depth)}{comms[p.Pid]}\n");
            foreach (var child in children[p.Pid]) Append(child, depth + 1);
        }
        foreach (var root in processes.Where(p => !pids.Contains(p.Ppid))) Append(root, 0);
    }

    static void AppendFiles(StringBuilder text, ImageDirectory directory, int pid, FileDescriptions files)
    {
        text.Append("  Files\n");
        if (!directory.Exists(ImageNames.Ids(pid)))
        {
            text.Append("\t(no ids image)\n");
        }
        else
        {
            foreach (var fd in directory.ReadFdinfo(directory.ReadIds(pid).FilesId))
                text.Append(CultureInfo.InvariantCulture, $"\t{fd.Fd,7}: {files.Describe(fd.Type, fd.Id)}\n");
        }
        if (directory.Exists(ImageNames.Fs(pid)))
        {
            var fs = directory.ReadFs(pid);
            text.Append(CultureInfo.InvariantCulture, $"\t{"cwd",7}: {files.Describe(fd_types.Reg, fs.CwdId)}\n");
            text.Append(CultureInfo.InvariantCulture, $"\t{"root",7}: {files.Describe(fd_types.Reg, fs.RootId)}\n");
        }
    }

    static void AppendMemory(StringBuilder text, ImageDirectory directory, int pid, FileDescriptions files)
    {
        if (!directory.Exists(ImageNames.Mm(pid)))
        {
            text.Append("  Memory: no mm image\n");
            return;
        }
        var mm = directory.ReadMm(pid);
        var dumped = DumpedRuns(directory, pid, out var pagesFile);
        text.Append(CultureInfo.InvariantCulture, $"  Memory (exe {files.Describe(fd_types.Reg, mm.ExeFileId)})\n");
        text.Append(CultureInfo.InvariantCulture, $"\t{"ADDRESS RANGE",-36}PROT     SIZE  DUMPED  MAPPING\n");
        long total = 0;
        foreach (var vma in mm.Vmas)
        {
            var pages = dumped.Sum(run => OverlapPages(run.Start, run.End, vma.Start, vma.End));
            total += pages;
            var range = $"{vma.Start:x8}-{vma.End:x8}";
            var line = $"\t{range,-36}{Protection(vma.Prot)}  {Size(vma.End - vma.Start),7} {pages,7}  {Mapping(vma, files)}";
            text.Append(line.TrimEnd()).Append('\n');
        }
        text.Append(CultureInfo.InvariantCulture, $"\t{total} pages dumped{(pagesFile is null ? "" : $" in {pagesFile}")}\n");
    }

    /// <summary>The address ranges whose pages are in the pages image (PE_PRESENT), and that image's name.</summary>
    static List<(ulong Start, ulong End)> DumpedRuns(ImageDirectory directory, int pid, out string? pagesFile)
    {
        pagesFile = null;
        var runs = new List<(ulong, ulong)>();
        foreach (var entry in directory.ReadEntries(ImageNames.Pagemap(pid), ImageKinds.Pagemap))
        {
            if (entry.Message is pagemap_head head)
            {
                pagesFile = ImageNames.Pages(head.PagesId);
                continue;
            }
            var run = entry.As<pagemap_entry>();
            if ((run.Flags & (uint)PageMapFlags.Present) == 0) continue;
            var count = run.HasNrPages ? run.NrPages : run.CompatNrPages;
            runs.Add((run.Vaddr, run.Vaddr + count * PageSize));
        }
        return runs;
    }

    static long OverlapPages(ulong aStart, ulong aEnd, ulong bStart, ulong bEnd)
    {
        var start = Math.Max(aStart, bStart);
        var end = Math.Min(aEnd, bEnd);
        return end > start ? (long)((end - start) / PageSize) : 0;
    }

    static string Protection(uint prot) =>
        $"{((prot & 1) != 0 ? 'r' : '-')}{((prot & 2) != 0 ? 'w' : '-')}{((prot & 4) != 0 ? 'x' : '-')}";

    static string Size(ulong bytes) =>
        bytes % (1 << 20) == 0 && bytes > 0 ? $"{bytes >> 20}M" : $"{bytes >> 10}K";

    /// <summary>What backs a mapping, as crit's mems explorer says it; " *" marks areas CRIU does not restore as regular.</summary>
    static string Mapping(vma_entry vma, FileDescriptions files)
    {
        var status = vma.Status;
        string name;
        if ((status & (1 << 10)) != 0) name = $"ipc[{vma.Shmid:x}]";
        else if ((status & (1 << 8)) != 0) name = $"shmem[{vma.Shmid:x}]";
        else if ((status & (1 << 11)) != 0) name = $"packet[{vma.Shmid:x}]";
        else if ((status & ((1 << 6) | (1 << 7))) != 0)
        {
            name = files.Describe(fd_types.Reg, (uint)vma.Shmid);
            if (vma.Pgoff != 0) name += $" + 0x{vma.Pgoff:x}";
            if ((status & (1 << 7)) != 0) name += " (s)";
        }
        else if ((status & (1 << 1)) != 0) name = "[stack]";
        else if ((status & (1 << 2)) != 0) name = "[vsyscall]";
        else if ((status & (1 << 3)) != 0) name = "[vdso]";
        else if ((status & (1 << 12)) != 0) name = "[vvar]";
        else if ((status & (1 << 5)) != 0) name = "[heap]";
        else if ((vma.Flags & 0x100) != 0) name = "[stack?]"; // MAP_GROWSDOWN
        else name = "";
        if ((status & 1) == 0) name += name.Length == 0 ? "*" : " *";
        return name;
    }

    static string Comm(ImageDirectory directory, int pid) =>
        directory.Exists(ImageNames.Core(pid)) ? directory.ReadCore(pid).Tc?.Comm ?? "?" : "?";
}
