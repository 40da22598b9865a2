using System.Globalization;
using System.Runtime.InteropServices;
using Ferry.Diagnostics;
using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Resources.Credentials;

/// <summary>
/// Credentials, set last before the registers (lowering them first would take away what the earlier steps need):
/// bounding set, groups, uids/gids (with SECBIT_NO_SETUID_FIXUP so capabilities survive the uid change), securebits,
/// then the capability sets, ambient capabilities and no_new_privs. Nothing is done when the husk (which runs
/// with Ferry's credentials) already has the dumped ones, the common case of root processes.
/// </summary>
public sealed class CredentialRestorer(TracedTask task, core_entry core, RemoteScratch scratch, Log log)
{
    const int SecbitNoSetuidFixup = 1 << 2;
    const int PrCapbsetDrop = 24, PrCapAmbientRaise = 2, PrCapAmbientClearAll = 4;
    const uint CapabilityVersion3 = 0x20080522;

    public void Restore()
    {
        if (core.ThreadCore?.Creds is not { } wanted)
            return;
        var current = Current(task);
        if (Same(wanted, current))
            return;

        int lastCap = int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), CultureInfo.InvariantCulture);
        ulong bounding = Caps(wanted.CapBnd);
        for (int cap = 0; cap <= lastCap; cap++)
            if ((bounding & (1UL << cap)) == 0 && (current.Bounding & (1UL << cap)) != 0)
                task.SyscallOrThrow(Sys.prctl, PrCapbsetDrop, cap);

        var groups = wanted.Groups.ToArray();
        if (groups.Length > 0)
            scratch.Write(0, MemoryMarshal.AsBytes(groups.AsSpan()));
        task.SyscallOrThrow(Sys.setgroups, groups.Length, scratch.At(0));

        task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_SECUREBITS, SecbitNoSetuidFixup);
        task.SyscallOrThrow(Sys.setresgid, wanted.Gid, wanted.Egid, wanted.Sgid);
        task.SyscallOrThrow(Sys.setresuid, wanted.Uid, wanted.Euid, wanted.Suid);
        task.Syscall(Sys.setfsgid, wanted.Fsgid); // returns the previous fsgid, never an error
        task.Syscall(Sys.setfsuid, wanted.Fsuid);
        // The final securebits while CAP_SETPCAP is still there; the uid changes that needed the fixup are done.
        task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_SECUREBITS, wanted.Secbits);

        // capset: header {version, pid 0}, then {effective, permitted, inheritable} for the low and high 32 bits.
        Span<uint> header = [CapabilityVersion3, 0];
        scratch.Write(0, MemoryMarshal.AsBytes(header));
        Span<uint> data = stackalloc uint[6];
        for (int word = 0; word < 2; word++)
        {
            data[word * 3] = Word(wanted.CapEff, word);
            data[word * 3 + 1] = Word(wanted.CapPrm, word);
            data[word * 3 + 2] = Word(wanted.CapInh, word);
        }
        scratch.Write(8, MemoryMarshal.AsBytes(data));
        task.SyscallOrThrow(Sys.capset, scratch.At(0), scratch.At(8));

        task.SyscallOrThrow(Sys.prctl, Prctl.PR_CAP_AMBIENT, PrCapAmbientClearAll, 0, 0, 0);
        ulong ambient = Caps(wanted.CapAmb);
        for (int cap = 0; cap <= lastCap; cap++)
            if ((ambient & (1UL << cap)) != 0)
                task.SyscallOrThrow(Sys.prctl, Prctl.PR_CAP_AMBIENT, PrCapAmbientRaise, cap, 0, 0);
        if (wanted.NoNewPrivs != 0)
            task.SyscallOrThrow(Sys.prctl, Prctl.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        log.Debug($"pid {task.Pid}: credentials uid {wanted.Uid}/{wanted.Euid}/{wanted.Suid} gid {wanted.Gid}/{wanted.Egid}/{wanted.Sgid}, " +
            $"{groups.Length} groups, effective caps 0x{Caps(wanted.CapEff):x}");
    }

    static uint Word(IList<uint> caps, int word) => word < caps.Count ? caps[word] : 0;

    static ulong Caps(IList<uint> words) => words.Count == 0 ? 0 : words[0] | (words.Count > 1 ? (ulong)words[1] << 32 : 0);

    readonly record struct Now(uint[] Ids, uint[] Groups, ulong Inheritable, ulong Permitted, ulong Effective, ulong Bounding, ulong Ambient, int NoNewPrivs);

    static bool Same(creds_entry wanted, Now now) =>
        now.Ids.SequenceEqual([wanted.Uid, wanted.Euid, wanted.Suid, wanted.Fsuid, wanted.Gid, wanted.Egid, wanted.Sgid, wanted.Fsgid])
        && now.Groups.Order().SequenceEqual(wanted.Groups.Order())
        && now.Inheritable == Caps(wanted.CapInh) && now.Permitted == Caps(wanted.CapPrm) && now.Effective == Caps(wanted.CapEff)
        && now.Bounding == Caps(wanted.CapBnd) && now.Ambient == Caps(wanted.CapAmb)
        && wanted.Secbits == 0 && now.NoNewPrivs == (int)wanted.NoNewPrivs;

    /// <summary>The husk thread's credentials from /proc/PID/task/TID/status.</summary>
    static Now Current(TracedTask task)
    {
        var s = ProcStatusFile.ReadThread(task.Pid, task.Tid);
        return new Now([s.Uid.Real, s.Uid.Effective, s.Uid.Saved, s.Uid.Filesystem, s.Gid.Real, s.Gid.Effective, s.Gid.Saved, s.Gid.Filesystem],
            s.Groups, s.CapInh, s.CapPrm, s.CapEff, s.CapBnd, s.CapAmb, s.NoNewPrivs ? 1 : 0);
    }
}
