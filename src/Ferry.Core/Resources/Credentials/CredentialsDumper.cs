using Ferry.Images.Protos;
using Ferry.Linux;
using Ferry.Procfs;
using Ferry.Tracing;

namespace Ferry.Resources.Credentials;

/// <summary>A thread's credentials: ids, groups and capabilities from /proc, securebits asked of the thread.</summary>
internal static class CredentialsDumper
{
    /// <param name="status">The thread's /proc/PID/task/TID/status.</param>
    /// <param name="securebits">PR_GET_SECUREBITS in the thread (<see cref="TaskState.TaskQuestions"/>).</param>
    public static creds_entry Dump(ProcStatus status, uint securebits)
    {
        var creds = new creds_entry
        {
            Uid = status.Uid.Real, Euid = status.Uid.Effective, Suid = status.Uid.Saved, Fsuid = status.Uid.Filesystem,
            Gid = status.Gid.Real, Egid = status.Gid.Effective, Sgid = status.Gid.Saved, Fsgid = status.Gid.Filesystem,
            Secbits = securebits,
            NoNewPrivs = status.NoNewPrivs ? 1u : 0u,
        };
        AddCapabilities(creds.CapInh, status.CapInh);
        AddCapabilities(creds.CapPrm, status.CapPrm);
        AddCapabilities(creds.CapEff, status.CapEff);
        AddCapabilities(creds.CapBnd, status.CapBnd);
        AddCapabilities(creds.CapAmb, status.CapAmb);
        creds.Groups.Add(status.Groups);
        return creds;
    }

    /// <summary>CRIU keeps a capability set as two 32-bit words, low word first.</summary>
    static void AddCapabilities(Google.Protobuf.Collections.RepeatedField<uint> field, ulong set)
    {
        field.Add((uint)set);
        field.Add((uint)(set >> 32));
    }
}
