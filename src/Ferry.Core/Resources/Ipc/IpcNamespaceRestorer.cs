using Ferry.Diagnostics;
using Ferry.Linux;

namespace Ferry.Resources.Ipc;

/// <summary>
/// Fills a fresh IPC namespace (the one the restored root was created in) with the dumped objects, as CRIU does: the
/// sysctls first, then each segment, queue and semaphore set under its dumped id (kernel/KIND_next_id set just before
/// each *get) and key, with its mode, owner and contents (segment pages, queued messages, semaphore values). Runs
/// before any process maps its memory, so every shmat finds its segment (<see cref="SysvShmAttacher"/>).
/// <see cref="Finish"/> runs once every process is rebuilt: segments that were removed (IPC_RMID) while still
/// attached are removed again, so they vanish with their last detach as they would have.
/// </summary>
public sealed unsafe class IpcNamespaceRestorer(IpcNamespaceImages images, Log log)
{
    /// <param name="pid">A process already in the new namespace (the root's husk).</param>
    public void Populate(int pid) => IpcNamespaceThread.Run(pid, () =>
    {
        var variables = images.Variables;
        IpcSysctls.Write(variables);
        foreach (var segment in images.Segments)
            CreateSegment(segment);
        foreach (var queue in images.Queues)
            CreateQueue(queue);
        foreach (var set in images.Semaphores)
            CreateSemaphores(set);
        // Each *get consumed its next_id; the dumped ones (a program may have set them) come back last.
        if (variables.HasShmNextId) IpcSysctls.SetNextId("shm", (int)variables.ShmNextId);
        if (variables.HasMsgNextId) IpcSysctls.SetNextId("msg", (int)variables.MsgNextId);
        if (variables.HasSemNextId) IpcSysctls.SetNextId("sem", (int)variables.SemNextId);
        log.Info($"IPC namespace {images.Id}: {images.Segments.Count} segment(s), {images.Queues.Count} queue(s), {images.Semaphores.Count} semaphore set(s) recreated");
        return 0;
    });

    /// <summary>Once every process has attached its segments: those dumped as removed-while-attached (SHM_DEST) are removed again.</summary>
    public void Finish(int pid)
    {
        var removed = images.Segments.Where(s => (s.Entry.Desc.Mode & SysvIpc.SHM_DEST) != 0).ToList();
        if (removed.Count == 0) return;
        IpcNamespaceThread.Run(pid, () =>
        {
            foreach (var segment in removed)
                SysvCalls.Remove(Sys.shmctl, segment.Id);
            return 0;
        });
    }

    /// <summary>Makes the next *get of <paramref name="kind"/> return <paramref name="id"/>, and checks it did.</summary>
    static int Create(string kind, int id, Func<int> get)
    {
        IpcSysctls.SetNextId(kind, id);
        int got = get();
        if (got != id)
            throw new FerryException($"the restored IPC namespace gave {kind} id {got} instead of the dumped {id}");
        return got;
    }

    static int Flags(uint mode) => (int)(mode & SysvIpc.ModeMask) | SysvIpc.IPC_CREAT | SysvIpc.IPC_EXCL;

    static void CreateSegment(IpcSegment segment)
    {
        var desc = segment.Entry.Desc;
        int id = Create("shm", segment.Id, () => SysvCalls.Get(Sys.shmget, (int)desc.Key, (long)segment.Entry.Size, Flags(desc.Mode)));
        var ds = default(ShmidDs);
        SysvCalls.ShmCtl(id, SysvIpc.IPC_STAT, ref ds);
        ds.shm_perm.uid = desc.Uid;
        ds.shm_perm.gid = desc.Gid;
        SysvCalls.ShmCtl(id, SysvIpc.IPC_SET, ref ds);

        nint at = SysvCalls.Attach(id, 0);
        try
        {
            var memory = new Span<byte>((void*)at, checked((int)segment.MappedSize));
            if (segment.Pages is { } pages)
            {
                using var file = File.OpenHandle(pages.PagesPath);
                foreach (var run in pages.Runs)
                    ReadFully(file, memory.Slice((int)run.Address, (int)run.Length), run.FileOffset, pages.PagesPath);
            }
            else
                segment.Inline.Span.CopyTo(memory);
        }
        finally
        {
            SysvCalls.Detach(at);
        }
    }

    static void ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle file, Span<byte> into, long offset, string path)
    {
        while (into.Length > 0)
        {
            int n = RandomAccess.Read(file, into, offset);
            if (n <= 0) throw new FerryException($"{path}: ends at offset {offset}, before the pages of a shared memory segment");
            into = into[n..];
            offset += n;
        }
    }

    static void CreateQueue(IpcQueue queue)
    {
        var desc = queue.Entry.Desc;
        int id = Create("msg", (int)desc.Id, () => SysvCalls.Get(Sys.msgget, (int)desc.Key, 0, Flags(desc.Mode)));
        var ds = default(MsqidDs);
        SysvCalls.MsgCtl(id, SysvIpc.IPC_STAT, ref ds);
        ds.msg_perm.uid = desc.Uid;
        ds.msg_perm.gid = desc.Gid;
        ds.msg_qbytes = queue.Entry.Qbytes;
        SysvCalls.MsgCtl(id, SysvIpc.IPC_SET, ref ds);
        foreach (var (message, text) in queue.Messages)
        {
            var buffer = new byte[8 + text.Length];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buffer, message.Mtype);
            text.Span.CopyTo(buffer.AsSpan(8));
            SysvCalls.Send(id, buffer, text.Length);
        }
    }

    static void CreateSemaphores(IpcSemaphores set)
    {
        var desc = set.Entry.Desc;
        int id = Create("sem", (int)desc.Id, () => SysvCalls.Get(Sys.semget, (int)desc.Key, set.Entry.Nsems, Flags(desc.Mode)));
        var ds = default(SemidDs);
        SysvCalls.SemCtl(id, SysvIpc.IPC_STAT, ref ds);
        ds.sem_perm.uid = desc.Uid;
        ds.sem_perm.gid = desc.Gid;
        SysvCalls.SemCtl(id, SysvIpc.IPC_SET, ref ds);
        if (set.Values.Length > 0)
            SysvCalls.SemSetAll(id, set.Values);
    }
}
