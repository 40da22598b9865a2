using System.Buffers.Binary;
using Ferry.Images.Protos;

namespace Ferry.Images;

/// <summary>Structured views of the raw payload that follows some entries (as read by <see cref="ImageReader"/>).</summary>
public static class Payloads
{
    /// <summary>A tcp-stream entry's payload: the receive queue, then the send queue.</summary>
    public static (ReadOnlyMemory<byte> Inq, ReadOnlyMemory<byte> Outq) TcpQueues(ImageEntry entry)
    {
        var tcp = entry.As<tcp_stream_entry>();
        return (entry.Extra[..(int)tcp.InqLen], entry.Extra.Slice((int)tcp.InqLen, (int)tcp.OutqLen));
    }

    /// <summary>An ipcns-sem entry's semaphore values (nsems u16, the padding dropped).</summary>
    public static ushort[] SemaphoreValues(ImageEntry entry)
    {
        var values = new ushort[entry.As<ipc_sem_entry>().Nsems];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadUInt16LittleEndian(entry.Extra.Span[(2 * i)..]);
        return values;
    }

    /// <summary>An ipcns-shm entry's segment contents (size bytes, padding dropped; empty when kept in pagemaps).</summary>
    public static ReadOnlyMemory<byte> SharedMemory(ImageEntry entry)
    {
        var shm = entry.As<ipc_shm_entry>();
        return shm.InPagemaps ? ReadOnlyMemory<byte>.Empty : entry.Extra[..(int)shm.Size];
    }

    /// <summary>An ipcns-msg entry's queued messages with their texts (msize bytes, padding dropped).</summary>
    public static IReadOnlyList<(ipc_msg Message, ReadOnlyMemory<byte> Text)> QueuedMessages(ImageEntry entry)
    {
        // The reader validated this layout already; this only walks it again.
        var messages = new List<(ipc_msg, ReadOnlyMemory<byte>)>();
        ReadOnlyMemory<byte> rest = entry.Extra;
        while (!rest.IsEmpty)
        {
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(rest.Span);
            var message = ipc_msg.Parser.ParseFrom(rest.Span.Slice(4, size));
            int text = (int)message.Msize;
            messages.Add((message, rest.Slice(4 + size, text)));
            rest = rest[(4 + size + (int)ExtraPayloadRules.RoundUp((ulong)text, 8))..];
        }
        return messages;
    }
}
