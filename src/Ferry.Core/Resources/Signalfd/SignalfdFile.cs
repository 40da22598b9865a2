using System.Globalization;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Resources.Files;

namespace Ferry.Resources.Signalfd;

/// <summary>
/// A signalfd: the set of signals it reads. The signals themselves stay queued on the task (or thread), where the
/// signal images carry them, so one pending at dump is read from the new signalfd after restore.
/// </summary>
internal static class SignalfdFile
{
    public static signalfd_entry Dump(uint id, uint flags, fown_entry owner, FdInfo info, string where)
    {
        var text = AnonInodeFiles.Line(info, "sigmask", where);
        if (!ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong mask))
            throw AnonInodeFiles.BadLine(where, "sigmask", text, "a hexadecimal signal mask");
        return new signalfd_entry { Id = id, Flags = flags, Fown = owner, Sigmask = mask };
    }

    public static unsafe HeldFd Open(signalfd_entry entry)
    {
        ulong mask = entry.Sigmask;
        var what = $"signalfd {entry.Id}";
        var held = AnonInodeFiles.Created(LibC.syscall(Sys.signalfd4, -1, (long)&mask, sizeof(ulong), OpenFlags.O_CLOEXEC, 0, 0), what);
        AnonInodeFiles.SetStatusFlags(held, entry.Flags, what);
        return held;
    }
}
