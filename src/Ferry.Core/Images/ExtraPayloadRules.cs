using Ferry.Images.Protos;
using Google.Protobuf;

namespace Ferry.Images;

/// <summary>The size of the raw payload that follows an entry, as the entry itself declares it.</summary>
internal static class ExtraPayloadRules
{
    /// <summary>
    /// The payload length the entry declares, or null when the entry alone does not fix it (IPC message queues carry
    /// nested framed messages; a ghost file without chunks runs to the end of the file).
    /// </summary>
    public static ulong? DeclaredLength(ExtraPayload rule, IMessage message) => rule switch
    {
        ExtraPayload.None => 0,
        ExtraPayload.PipeData => ((pipe_data_entry)message).Bytes,
        ExtraPayload.SocketQueue => ((sk_packet_entry)message).Length,
        ExtraPayload.TcpStream => (ulong)((tcp_stream_entry)message).InqLen + ((tcp_stream_entry)message).OutqLen,
        ExtraPayload.BpfMapData => (ulong)((bpfmap_data_entry)message).KeysBytes + ((bpfmap_data_entry)message).ValuesBytes,
        ExtraPayload.IpcShm => ((ipc_shm_entry)message) is { InPagemaps: true } ? 0 : RoundUp(((ipc_shm_entry)message).Size, 4),
        ExtraPayload.IpcSem => RoundUp(2UL * ((ipc_sem_entry)message).Nsems, 8),
        ExtraPayload.GhostChunk => ((ghost_chunk_entry)message).Len,
        ExtraPayload.GhostFile => ((ghost_file_entry)message).Chunks ? 0 : null,
        ExtraPayload.IpcMsg => null,
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };

    /// <summary>Rounds up to a multiple of <paramref name="align"/>, saturating instead of wrapping.</summary>
    public static ulong RoundUp(ulong value, ulong align) =>
        value > ulong.MaxValue - align ? ulong.MaxValue : (value + align - 1) / align * align;
}
