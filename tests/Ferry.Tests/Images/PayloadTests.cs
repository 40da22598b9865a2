using System.Buffers.Binary;
using Ferry.Images;
using Ferry.Images.Protos;
using Google.Protobuf;
using Xunit;

namespace Ferry.Tests.Images;

/// <summary>Raw payloads after entries, for the kinds the CRIU vectors do not cover.</summary>
public sealed class PayloadTests
{
    private static readonly ipc_desc_entry Desc = new() { Key = 1, Uid = 0, Gid = 0, Cuid = 0, Cgid = 0, Mode = 0x1b6, Id = 5 };

    public static IEnumerable<object[]> Images() =>
    [
        ["sk-queues", Build(ImageKinds.SkQueues, (new sk_packet_entry { IdFor = 3, Length = 5 }, Bytes(5)), (new sk_packet_entry { IdFor = 3, Length = 0 }, []))],
        ["tcp-stream", Build(ImageKinds.TcpStream, (new tcp_stream_entry { InqLen = 3, InqSeq = 1, OutqLen = 4, OutqSeq = 2, OptMask = 0, SndWscale = 7, MssClamp = 65483 }, Bytes(7)))],
        ["bpfmap-data", Build(ImageKinds.BpfmapData, (new bpfmap_data_entry { MapId = 1, KeysBytes = 8, ValuesBytes = 16, Count = 2 }, Bytes(24)))],
        ["ipcns-shm", Build(ImageKinds.IpcnsShm,
            (new ipc_shm_entry { Desc = Desc, Size = 6 }, Bytes(8)),
            (new ipc_shm_entry { Desc = Desc, Size = 1 << 20, InPagemaps = true }, []))],
        ["ipcns-sem", Build(ImageKinds.IpcnsSem, (new ipc_sem_entry { Desc = Desc, Nsems = 3 }, Bytes(8)), (new ipc_sem_entry { Desc = Desc, Nsems = 4 }, Bytes(8)))],
        ["ipcns-msg", Build(ImageKinds.IpcnsMsg, (new ipc_msg_entry { Desc = Desc, Qbytes = 100, Qnum = 2 },
            [.. Framed(new ipc_msg { Mtype = 1, Msize = 3 }), .. Bytes(8), .. Framed(new ipc_msg { Mtype = 2, Msize = 9 }), .. Bytes(16)]))],
        ["ghost-file-raw", Build(ImageKinds.GhostFile, (new ghost_file_entry { Uid = 0, Gid = 0, Mode = 0x81a4 }, Bytes(1000)))],
        ["ghost-file-chunks", Build(ImageKinds.GhostFile,
            (new ghost_file_entry { Uid = 0, Gid = 0, Mode = 0x81a4, Chunks = true, Size = 9000 }, []),
            (new ghost_chunk_entry { Len = 10, Off = 0 }, Bytes(10)),
            (new ghost_chunk_entry { Len = 20, Off = 8192 }, Bytes(20)))],
    ];

    [Theory]
    [MemberData(nameof(Images))]
    public void PayloadsRoundTripByteForByte(string name, byte[] bytes)
    {
        var image = Decode(bytes, name);
        var output = new MemoryStream();
        ImageWriter.Write(output, image);
        Assert.Equal(bytes, output.ToArray());
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void TruncatedPayloadsAreRejected(string name, byte[] bytes)
    {
        var full = Decode(bytes, name);
        var boundaries = full.Entries.Select(e => e.Offset).Append(bytes.Length).ToHashSet();
        bool rawGhost = name == "ghost-file-raw";   // its payload runs to the end of the file: any cut is valid
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            if (boundaries.Contains(cut) || (rawGhost && cut >= full.Entries[0].Offset + 4 + full.Entries[0].Message.CalculateSize()))
                Decode(bytes[..cut], name);
            else
                Assert.Throws<ImageFormatException>(() => Decode(bytes[..cut], name));
        }
    }

    [Fact]
    public void IpcMessageQueueKeepsItsMessagesInTheExtra()
    {
        var image = Decode((byte[])Images().Single(i => (string)i[0] == "ipcns-msg")[1], "ipcns-msg");
        Assert.Equal(2 * 4 + new ipc_msg { Mtype = 1, Msize = 3 }.CalculateSize() + new ipc_msg { Mtype = 2, Msize = 9 }.CalculateSize() + 8 + 16,
            Assert.Single(image.Entries).Extra.Length);
    }

    [Fact]
    public void StructuredViewsDropThePadding()
    {
        var msg = Assert.Single(Decode(Payload("ipcns-msg"), "msg").Entries);
        var queued = Payloads.QueuedMessages(msg);
        Assert.Equal([1UL, 2UL], queued.Select(m => m.Message.Mtype));
        Assert.Equal(Bytes(3), queued[0].Text.ToArray());
        Assert.Equal(Bytes(9), queued[1].Text.ToArray());

        var sem = Decode(Payload("ipcns-sem"), "sem").Entries[0];
        Assert.Equal([0x0201, 0x0403, 0x0605], Payloads.SemaphoreValues(sem));

        var shm = Decode(Payload("ipcns-shm"), "shm").Entries;
        Assert.Equal(Bytes(6), Payloads.SharedMemory(shm[0]).ToArray());
        Assert.True(Payloads.SharedMemory(shm[1]).IsEmpty);

        var (inq, outq) = Payloads.TcpQueues(Decode(Payload("tcp-stream"), "tcp").Entries[0]);
        Assert.Equal(Bytes(3), inq.ToArray());
        Assert.Equal(Bytes(7)[3..], outq.ToArray());
    }

    [Fact]
    public void GhostFileHeadThenChunks()
    {
        var image = Decode((byte[])Images().Single(i => (string)i[0] == "ghost-file-chunks")[1], "ghost");
        Assert.IsType<ghost_file_entry>(image.Entries[0].Message);
        Assert.All(image.Entries.Skip(1), e => Assert.IsType<ghost_chunk_entry>(e.Message));
        Assert.Equal([0, 10, 20], image.Entries.Select(e => e.Extra.Length));
    }

    private static byte[] Payload(string name) => (byte[])Images().Single(i => (string)i[0] == name)[1];

    private static byte[] Build(ImageKind kind, params (IMessage Message, byte[] Extra)[] entries)
    {
        var output = new MemoryStream();
        using (var writer = new ImageWriter(output, kind, leaveOpen: true))
            foreach (var (message, extra) in entries)
                writer.Write(message, extra);
        return output.ToArray();
    }

    private static byte[] Framed(IMessage message)
    {
        byte[] body = message.ToByteArray();
        byte[] framed = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(framed, (uint)body.Length);
        body.CopyTo(framed, 4);
        return framed;
    }

    private static byte[] Bytes(int count) => [.. Enumerable.Range(1, count).Select(i => (byte)i)];

    private static Image Decode(byte[] bytes, string name)
    {
        using var reader = new ImageReader(new MemoryStream(bytes), name);
        return reader.ReadToEnd();
    }
}
