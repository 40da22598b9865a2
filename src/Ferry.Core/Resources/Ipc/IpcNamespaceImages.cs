using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Restore;

namespace Ferry.Resources.Ipc;

/// <summary>A SysV shared memory segment: its entry, and its contents (a shmem pagemap, or inline bytes in old images).</summary>
public sealed record IpcSegment(ipc_shm_entry Entry, PageMapImage? Pages, ReadOnlyMemory<byte> Inline)
{
    public int Id => (int)Entry.Desc.Id;
    /// <summary>The segment's pages, as shmat maps them.</summary>
    public ulong MappedSize => (Entry.Size + (ulong)Environment.SystemPageSize - 1) / (ulong)Environment.SystemPageSize * (ulong)Environment.SystemPageSize;
}

/// <summary>A SysV message queue and its queued messages (type, text), oldest first.</summary>
public sealed record IpcQueue(ipc_msg_entry Entry, IReadOnlyList<(ipc_msg Message, ReadOnlyMemory<byte> Text)> Messages);

/// <summary>A SysV semaphore set and its values.</summary>
public sealed record IpcSemaphores(ipc_sem_entry Entry, ushort[] Values);

/// <summary>
/// A dumped IPC namespace: ipcns-var-ID.img (sysctls), ipcns-shm-ID.img (segments; contents in pagemap-shmem-SHMID.img
/// as CRIU 4.x writes them, or inline after each entry in older images), ipcns-msg-ID.img and ipcns-sem-ID.img.
/// </summary>
public sealed class IpcNamespaceImages
{
    IpcNamespaceImages(uint id, ipc_var_entry variables, IReadOnlyList<IpcSegment> segments, IReadOnlyList<IpcQueue> queues, IReadOnlyList<IpcSemaphores> semaphores)
    {
        Id = id;
        Variables = variables;
        Segments = segments;
        Queues = queues;
        Semaphores = semaphores;
    }

    /// <summary>The namespace's id (ipc_ns_id in ids-PID.img).</summary>
    public uint Id { get; }
    public ipc_var_entry Variables { get; }
    public IReadOnlyList<IpcSegment> Segments { get; }
    public IReadOnlyList<IpcQueue> Queues { get; }
    public IReadOnlyList<IpcSemaphores> Semaphores { get; }

    internal static IpcNamespaceImages Load(DumpSet.Loader set, uint id)
    {
        var variables = set.One<ipc_var_entry>(ImageNames.IpcVar(id), ImageKinds.IpcVar);
        var segments = new List<IpcSegment>();
        foreach (var entry in set.Entries(ImageNames.IpcShm(id), ImageKinds.IpcnsShm, optional: false))
        {
            var shm = entry.As<ipc_shm_entry>();
            if (segments.Any(s => s.Entry.Desc.Id == shm.Desc.Id))
                throw set.Defect(ImageNames.IpcShm(id), entry.Offset, $"unique segment ids, id {shm.Desc.Id} appears twice");
            if (shm.HasHugetlbFlag && shm.HugetlbFlag != 0)
                throw set.Defect(ImageNames.IpcShm(id), entry.Offset, $"a segment of ordinary pages (segment {shm.Desc.Id} is hugetlb, which ferry cannot restore yet)");
            var pages = shm.InPagemaps ? PageMapImage.LoadShmem(set, shm.Desc.Id, RoundUpToPage(shm.Size)) : null;
            segments.Add(new IpcSegment(shm, pages, Payloads.SharedMemory(entry)));
        }
        var queues = set.Entries(ImageNames.IpcMsg(id), ImageKinds.IpcnsMsg, optional: false)
            .Select(e => new IpcQueue(e.As<ipc_msg_entry>(), Payloads.QueuedMessages(e))).ToList();
        var semaphores = set.Entries(ImageNames.IpcSem(id), ImageKinds.IpcnsSem, optional: false)
            .Select(e => new IpcSemaphores(e.As<ipc_sem_entry>(), Payloads.SemaphoreValues(e))).ToList();
        return new IpcNamespaceImages(id, variables, segments, queues, semaphores);
    }

    static ulong RoundUpToPage(ulong size) => ExtraPayloadRules.RoundUp(size, (ulong)Environment.SystemPageSize);
}
