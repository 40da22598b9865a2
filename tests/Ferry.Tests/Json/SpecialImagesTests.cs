using System.Text;
using Ferry.Images;
using Ferry.Images.Json;
using Ferry.Images.Protos;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>
/// The image shapes and field options the CRIU vectors do not exercise (ghost files, IPC payloads, devices,
/// unix socket names, IPv6, unknown flag bits): each JSON text, in crit's form, encodes to an image whose
/// rendering is that same text.
/// </summary>
public class SpecialImagesTests
{
    const string Desc = """
                    "desc": {
                        "key": 0,
                        "uid": 0,
                        "gid": 0,
                        "cuid": 0,
                        "cgid": 0,
                        "mode": 438,
                        "id": 7
                    },
        """;

    static readonly string[] Samples =
    [
        """
        {
            "magic": "GHOST_FILE",
            "entries": [
                {
                    "uid": 0,
                    "gid": 0,
                    "mode": 33188,
                    "dev": "8:1",
                    "ino": 1234,
                    "rdev": "136:3",
                    "size": 5,
                    "extra": "aGVsbG8=\n"
                }
            ]
        }
        """,
        """
        {
            "magic": "GHOST_FILE",
            "entries": [
                {
                    "uid": 0,
                    "gid": 0,
                    "mode": 33188,
                    "chunks": true,
                    "size": 8192
                },
                {
                    "len": 2,
                    "off": 0,
                    "extra": "aGk=\n"
                },
                {
                    "len": 3,
                    "off": 4096,
                    "extra": "Ynll\n"
                }
            ]
        }
        """,
        $$"""
        {
            "magic": "IPCNS_SEM",
            "entries": [
                {
        {{Desc}}
                    "nsems": 3,
                    "extra": [
                        1,
                        2,
                        65535
                    ]
                }
            ]
        }
        """,
        $$"""
        {
            "magic": "IPCNS_MSG",
            "entries": [
                {
        {{Desc}}
                    "qbytes": 16384,
                    "qnum": 2,
                    "extra": [
                        {
                            "mtype": 1,
                            "msize": 5
                        },
                        "aGVsbG8=\n",
                        {
                            "mtype": 2,
                            "msize": 10
                        },
                        "ZWlnaHQgYnl0ZQ==\n"
                    ]
                }
            ]
        }
        """,
        $$"""
        {
            "magic": "IPCNS_SHM",
            "entries": [
                {
        {{Desc}}
                    "size": 5,
                    "extra": "aGVsbG8=\n"
                }
            ]
        }
        """,
        """
        {
            "magic": "UNIXSK",
            "entries": [
                {
                    "id": 3,
                    "ino": 99,
                    "type": "DGRAM",
                    "state": "CLOSE",
                    "flags": "0x800",
                    "uflags": "0x0",
                    "backlog": 0,
                    "peer": 0,
                    "fown": {
                        "uid": 0,
                        "euid": 0,
                        "signum": 0,
                        "pid_type": 0,
                        "pid": 0
                    },
                    "opts": {
                        "so_sndbuf": 212992,
                        "so_rcvbuf": 212992,
                        "so_snd_tmo_sec": 0,
                        "so_snd_tmo_usec": 0,
                        "so_rcv_tmo_sec": 0,
                        "so_rcv_tmo_usec": 0
                    },
                    "name": "=00ferry/abstract=3Dname =C3=A9",
                    "mnt_id": -1
                }
            ]
        }
        """,
        """
        {
            "magic": "INETSK",
            "entries": [
                {
                    "id": 4,
                    "ino": 100,
                    "family": "INET6",
                    "type": "STREAM",
                    "proto": "TCP",
                    "state": "LISTEN",
                    "src_port": 8080,
                    "dst_port": 0,
                    "flags": "0x2",
                    "backlog": 128,
                    "src_addr": [
                        "2001:db8::1"
                    ],
                    "dst_addr": [
                        "::"
                    ],
                    "fown": {
                        "uid": 0,
                        "euid": 0,
                        "signum": 0,
                        "pid_type": 0,
                        "pid": 0
                    },
                    "opts": {
                        "so_sndbuf": 16384,
                        "so_rcvbuf": 131072,
                        "so_snd_tmo_sec": 0,
                        "so_snd_tmo_usec": 0,
                        "so_rcv_tmo_sec": 0,
                        "so_rcv_tmo_usec": 0
                    },
                    "v6only": true
                }
            ]
        }
        """,
        """
        {
            "magic": "VMAS",
            "entries": [
                {
                    "start": "0x7f0000000000",
                    "end": "0x7f0000001000",
                    "pgoff": 0,
                    "shmid": 0,
                    "prot": "PROT_READ | 0x8",
                    "flags": "MAP_PRIVATE | MAP_ANON | 0x4000",
                    "status": "VMA_AREA_REGULAR | VMA_ANON_PRIVATE",
                    "fd": -1
                }
            ]
        }
        """,
    ];

    public static TheoryData<string> Texts() => new(Samples);

    static string Sample(string magic) => Samples.Single(t => t.Contains($"\"magic\": \"{magic}\""));

    [Theory]
    [MemberData(nameof(Texts))]
    public void Crit_form_text_survives_encode_and_decode(string text)
    {
        var image = Encode(text);
        using var reader = new ImageReader(new MemoryStream(image), "test.img");
        Assert.Equal(text + "\n", ImageJson.ToText(ImageJson.Decode(reader)));
    }

    [Fact]
    public void Devices_are_packed_as_the_kernel_and_glibc_pack_them()
    {
        var ghost = ReadFirst<ghost_file_entry>(Encode(Samples[0]));
        Assert.Equal((8u << 20) | 1u, ghost.Dev);
        Assert.Equal(0x8803u, ghost.Rdev); // makedev(136, 3)
    }

    [Fact]
    public void Unix_names_are_quoted_printable_bytes()
    {
        var socket = ReadFirst<unix_sk_entry>(Encode(Sample("UNIXSK")));
        Assert.Equal("\0ferry/abstract=name \u00e9", Encoding.UTF8.GetString(socket.Name.Span));
    }

    [Fact]
    public void Semaphore_values_are_u16_padded_to_8_bytes()
    {
        var image = Encode(Sample("IPCNS_SEM"));
        Assert.Equal(new byte[] { 1, 0, 2, 0, 0xff, 0xff, 0, 0 }, image[^8..]);
    }

    [Fact]
    public void Plain_numbers_are_accepted_wherever_crit_writes_names()
    {
        const string plain = """
            {"magic": "VMAS", "entries": [{"start": 139637976727552, "end": "0x7f0000001000", "pgoff": 0, "shmid": 0,
             "prot": 9, "flags": "0x4022", "status": 513, "fd": -1}]}
            """;
        var vma = ReadFirst<vma_entry>(Encode(plain));
        Assert.Equal(0x7f0000000000UL, vma.Start);
        Assert.Equal(9u, vma.Prot);
        Assert.Equal(0x4022u, vma.Flags);
        Assert.Equal(513u, vma.Status);
    }

    internal static byte[] Encode(string text)
    {
        using var output = new MemoryStream();
        ImageJson.Encode(ImageJson.Parse(Encoding.UTF8.GetBytes(text)), output);
        return output.ToArray();
    }

    static T ReadFirst<T>(byte[] image) where T : class, Google.Protobuf.IMessage
    {
        using var reader = new ImageReader(new MemoryStream(image), "test.img");
        return reader.ReadMessage<T>()!;
    }
}
