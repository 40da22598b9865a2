using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;
using Ferry.Resources.Inotify;

namespace Ferry.Resources.Fanotify;

/// <summary>
/// A fanotify group: its fanotify_init flags and event file flags ("fanotify flags:… event-flags:…"), and its marks,
/// one fdinfo line each: on an inode (named by file handle and device, as inotify's watches) or on a mount (named by
/// mount id; its mount point is kept as the path), stored in the entry's mark list as CRIU 4 does. CRIU's format has
/// no filesystem marks (FAN_MARK_FILESYSTEM): they stop the dump.
/// </summary>
internal static class FanotifyDumper
{
    public static fanotify_file_entry Dump(uint id, uint flags, fown_entry owner, FdInfo info, int pid, string where)
    {
        var entry = new fanotify_file_entry { Id = id, Flags = flags, Fown = owner };
        bool metGroup = false;
        foreach (var line in info.GetAll("fanotify"))
        {
            var tokens = FdInfo.SplitTokens(line).ToDictionary(p => p.Key, p => p.Value);
            if (tokens.ContainsKey("flags"))
            {
                entry.Faflags = Hex32(tokens, "flags", line, where);
                entry.Evflags = Hex32(tokens, "event-flags", line, where);
                metGroup = true;
            }
            else if (tokens.ContainsKey("ino"))
                entry.Mark.Add(InodeMark(id, tokens, line, where));
            else if (tokens.ContainsKey("mnt_id"))
                entry.Mark.Add(MountMark(id, tokens, line, pid, where));
            else
                throw new FerryException($"{where} has a fanotify mark on a whole filesystem ('{line}'), which CRIU's image format " +
                    "cannot hold; ferry cannot checkpoint it; the process was left running untouched");
        }
        if (!metGroup)
            throw new FerryException($"fdinfo of {where} has no 'fanotify flags:' line");
        return entry;
    }

    static fanotify_mark_entry InodeMark(uint id, Dictionary<string, string> tokens, string line, string where)
    {
        var handle = tokens.TryGetValue("fhandle-bytes", out var bytes) && tokens.TryGetValue("fhandle-type", out var type)
            && tokens.TryGetValue("f_handle", out var text) ? FileHandles.Parse(bytes, type, text) : null;
        var mark = new fanotify_mark_entry
        {
            Id = id, Type = mark_type.Inode,
            Mflags = Hex32(tokens, "mflags", line, where), Mask = Hex32(tokens, "mask", line, where),
            IgnoredMask = Hex32(tokens, "ignored_mask", line, where), SDev = Hex32(tokens, "sdev", line, where),
            Ie = new fanotify_inode_mark_entry
            {
                IIno = Hex(tokens, "ino", line, where),
                FHandle = handle ?? throw AnonInodeFiles.BadLine(where, "fanotify", line, "a mark with 'fhandle-bytes:HEX fhandle-type:HEX f_handle:HEX'"),
            },
        };
        using (var target = FileHandles.Open(mark.SDev, handle, $"fanotify mark of {where}"))
        {
            var path = new FileInfo($"/proc/self/fd/{target.Fd}").LinkTarget;
            if (path is not null && path.StartsWith('/') && !path.EndsWith(" (deleted)", StringComparison.Ordinal))
                handle.Path = path;
        }
        return mark;
    }

    static fanotify_mark_entry MountMark(uint id, Dictionary<string, string> tokens, string line, int pid, string where)
    {
        uint mountId = Hex32(tokens, "mnt_id", line, where);
        var mount = ProcMountInfo.Read(pid).FirstOrDefault(m => m.MountId == mountId)
            ?? throw new FerryException($"{where} has a fanotify mark on mount {mountId}, which process {pid} does not see");
        return new fanotify_mark_entry
        {
            Id = id, Type = mark_type.Mount,
            Mflags = Hex32(tokens, "mflags", line, where), Mask = Hex32(tokens, "mask", line, where),
            IgnoredMask = Hex32(tokens, "ignored_mask", line, where), SDev = DeviceNumbers.Kernel(mount.DevMajor, mount.DevMinor),
            Me = new fanotify_mount_mark_entry { MntId = mountId, Path = mount.MountPoint },
        };
    }

    static uint Hex32(Dictionary<string, string> tokens, string key, string line, string where)
    {
        ulong value = Hex(tokens, key, line, where);
        return value <= uint.MaxValue ? (uint)value : throw AnonInodeFiles.BadLine(where, "fanotify", line, $"a line with a 32-bit '{key}:'");
    }

    static ulong Hex(Dictionary<string, string> tokens, string key, string line, string where) =>
        FdInfo.HexToken(tokens, key) ?? throw AnonInodeFiles.BadLine(where, "fanotify", line, $"a line with '{key}:HEX'");
}
