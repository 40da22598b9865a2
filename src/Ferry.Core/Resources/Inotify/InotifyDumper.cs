using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Inotify;

/// <summary>
/// An inotify instance and its watches, one "inotify wd:…" fdinfo line each: the watch descriptor, the event mask and
/// the watched inode as a file handle with its filesystem's device, stored in the entry's wd list as CRIU 4 does.
/// Each watch names its inotify's file id, as CRIU's do. Each handle is opened once here, so a watch the restore could not find again (its inode deleted, its filesystem
/// without file handles) stops the dump instead of the restore. Events queued and not read yet are not kept (nor
/// does CRIU keep them).
/// </summary>
internal static class InotifyDumper
{
    public static inotify_file_entry Dump(uint id, uint flags, fown_entry owner, FdInfo info, string where)
    {
        var entry = new inotify_file_entry { Id = id, Flags = flags, Fown = owner };
        foreach (var line in info.GetAll("inotify"))
        {
            var watch = Parse(id, line, where);
            using (var target = FileHandles.Open(watch.SDev, watch.FHandle, $"inotify watch {watch.Wd} of {where}"))
            {
                // The path too, as CRIU keeps it: the way back when the handle no longer opens. A deleted file has none.
                var path = new FileInfo($"/proc/self/fd/{target.Fd}").LinkTarget;
                if (path is not null && path.StartsWith('/') && !path.EndsWith(" (deleted)", StringComparison.Ordinal))
                    watch.FHandle.Path = path;
            }
            entry.Wd.Add(watch);
        }
        return entry;
    }

    /// <summary>"wd:2 ino:35a sdev:fe00000 mask:80000002 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:5a03…".</summary>
    internal static inotify_wd_entry Parse(uint id, string line, string where)
    {
        var tokens = FdInfo.SplitTokens(line).ToDictionary(p => p.Key, p => p.Value);
        if (FdInfo.HexToken(tokens, "wd") is { } wd && wd <= int.MaxValue && FdInfo.HexToken(tokens, "ino") is { } inode && FdInfo.HexToken(tokens, "sdev") is { } dev && dev <= uint.MaxValue
            && FdInfo.HexToken(tokens, "mask") is { } mask && mask <= uint.MaxValue && FdInfo.HexToken(tokens, "ignored_mask") is { } ignored && ignored <= uint.MaxValue
            && tokens.TryGetValue("fhandle-bytes", out var bytes) && tokens.TryGetValue("fhandle-type", out var type)
            && tokens.TryGetValue("f_handle", out var handle) && FileHandles.Parse(bytes, type, handle) is { } fh)
            return new inotify_wd_entry
            {
                Id = id, Wd = (uint)wd, IIno = inode, SDev = (uint)dev, Mask = (uint)mask, IgnoredMask = (uint)ignored, FHandle = fh,
            };
        throw AnonInodeFiles.BadLine(where, "inotify", line, "'wd:HEX ino:HEX sdev:HEX mask:HEX ignored_mask:HEX fhandle-bytes:HEX fhandle-type:HEX f_handle:HEX'");
    }
}
