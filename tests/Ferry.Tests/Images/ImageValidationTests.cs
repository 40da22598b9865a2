using System.Buffers.Binary;
using System.Diagnostics;
using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Tests.Support;
using Google.Protobuf;
using Xunit;

namespace Ferry.Tests.Images;

/// <summary>Bad input must always give <see cref="ImageFormatException"/> with a one-line message, never anything else.</summary>
public sealed class ImageValidationTests
{
    [SharedDataTheory]
    [MemberData(nameof(TestVectors.ProtobufImages), MemberType = typeof(TestVectors))]
    public void TruncationFailsExceptAtEntryBoundaries(string caseName, string file)
    {
        byte[] original = File.ReadAllBytes(TestVectors.PathOf(caseName, file));
        var full = Decode(original, file);
        var boundaries = full.Entries.Select(e => e.Offset).Append(original.Length).ToHashSet();

        foreach (int cut in CutPoints(original.Length))
        {
            byte[] truncated = original[..cut];
            if (boundaries.Contains(cut))
                Assert.Equal(full.Entries.Count(e => e.Offset < cut), Decode(truncated, file).Entries.Count);
            else
                AssertRejected(truncated, file);
        }
    }

    [Fact]
    public void UnknownTypeMagicIsRejected()
    {
        byte[] image = Encode(ImageKinds.Pstree, new pstree_entry { Pid = 1, Ppid = 0, Pgid = 1, Sid = 1 });
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(4), 0x12345678);
        var error = AssertRejected(image, "pstree.img");
        Assert.Contains("0x12345678", error.Message);
        Assert.Equal(4, error.Offset);
    }

    [Fact]
    public void RawPagesDataIsNotAnImage()
    {
        AssertRejected(new byte[4096], "pages-1.img");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public void FileShorterThanItsMagicIsRejected(int length)
    {
        byte[] image = Encode(ImageKinds.Pstree, new pstree_entry { Pid = 1, Ppid = 0, Pgid = 1, Sid = 1 });
        AssertRejected(image[..length], "pstree.img");
    }

    [Theory]
    [InlineData(0xFFFFFFFFu)]
    [InlineData(0x7FFFFFFFu)]
    [InlineData(1u << 30)]
    public void AbsurdEntryLengthIsRejectedWithoutAllocatingIt(uint size)
    {
        byte[] image = Encode(ImageKinds.Pstree, new pstree_entry { Pid = 1, Ppid = 0, Pgid = 1, Sid = 1 });
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(8), size);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = AssertRejected(image, "pstree.img");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("remain", error.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void AbsurdPayloadLengthIsRejected()
    {
        var entry = new pipe_data_entry { PipeId = 1, Bytes = 3 };
        byte[] image = Encode(ImageKinds.PipesData, entry, [1, 2, 3]);
        entry.Bytes = 0xFFFFFFFF;
        byte[] lying = [.. image.AsSpan(0, 8), .. Frame(entry), 1, 2, 3];
        AssertRejected(lying, "pipes-data.img");
    }

    [Fact]
    public void GarbledProtobufIsRejected()
    {
        byte[] image = Encode(ImageKinds.Pstree, new pstree_entry { Pid = 1, Ppid = 0, Pgid = 1, Sid = 1 });
        image.AsSpan(12).Fill(0xFF);
        var error = AssertRejected(image, "pstree.img");
        Assert.Contains("pstree_entry", error.Message);
    }

    [Fact]
    public void MissingRequiredFieldIsRejected()
    {
        byte[] image = Unchecked(ImageKinds.Pstree, new pstree_entry { Pid = 1, Ppid = 0, Pgid = 1 });
        var error = AssertRejected(image, "pstree.img");
        Assert.Contains("required", error.Message);
    }

    [Fact]
    public void MissingNestedRequiredFieldIsRejected()
    {
        var core = new core_entry { Mtype = core_entry.Types.march.X8664, Tc = new task_core_entry { TaskState = 1 } };
        AssertRejected(Unchecked(ImageKinds.Core, core), "core-1.img");
    }

    [Fact]
    public void MissingFileIsRejected()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ferry-missing-{Guid.NewGuid():N}", "core-1.img");
        var error = Assert.Throws<ImageFormatException>(() => ImageReader.ReadFile(path));
        Assert.Contains("core-1.img", error.Message);
    }

    [SharedDataFact]
    public void RandomMutationsGiveImageFormatExceptionOrAValidImage()
    {
        var vectors = TestVectors.ImageFiles().Select(p => (Name: Path.GetFileName(p), Bytes: File.ReadAllBytes(p))).ToArray();
        var random = new Random(20261128);
        var clock = Stopwatch.StartNew();
        int tried = 0;
        while (tried < 20_000 && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            var (name, bytes) = vectors[random.Next(vectors.Length)];
            byte[] mutated = Mutate(bytes, random);
            try
            {
                Decode(mutated, name);
            }
            catch (ImageFormatException e)
            {
                AssertOneLine(e);
            }
            tried++;
        }
        Assert.True(tried >= 200, $"only {tried} mutations in the time budget");
    }

    internal static byte[] Mutate(byte[] original, Random random)
    {
        byte[] bytes = (byte[])original.Clone();
        int edits = 1 + random.Next(4);
        for (int i = 0; i < edits && bytes.Length > 0; i++)
        {
            int at = random.Next(bytes.Length);
            switch (random.Next(5))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2 when at + 4 <= bytes.Length:
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)random.NextInt64(0, 1L << 32));
                    break;
                case 3:
                    bytes = [.. bytes.AsSpan(0, at), .. bytes.AsSpan(Math.Min(bytes.Length, at + 1 + random.Next(16)))];
                    break;
                default:
                    byte[] insert = new byte[1 + random.Next(8)];
                    random.NextBytes(insert);
                    bytes = [.. bytes.AsSpan(0, at), .. insert, .. bytes.AsSpan(at)];
                    break;
            }
        }
        return bytes;
    }

    private static IEnumerable<int> CutPoints(int length)
    {
        var cuts = new SortedSet<int>();
        for (int i = 0; i < Math.Min(length, 64); i++)
            cuts.Add(i);
        int step = Math.Max(1, length / 200);
        for (int i = 0; i < length; i += step)
            cuts.Add(i);
        for (int i = Math.Max(0, length - 16); i < length; i++)
            cuts.Add(i);
        return cuts;
    }

    private static Image Decode(byte[] bytes, string name)
    {
        using var reader = new ImageReader(new MemoryStream(bytes), name);
        return reader.ReadToEnd();
    }

    private static ImageFormatException AssertRejected(byte[] bytes, string name)
    {
        var error = Assert.Throws<ImageFormatException>(() => Decode(bytes, name));
        AssertOneLine(error);
        Assert.StartsWith(name + ": at byte ", error.Message);
        return error;
    }

    private static void AssertOneLine(ImageFormatException e) =>
        Assert.DoesNotContain('\n', e.Message);

    private static byte[] Encode(ImageKind kind, IMessage message, byte[]? extra = null)
    {
        var output = new MemoryStream();
        using (var writer = new ImageWriter(output, kind, leaveOpen: true))
            writer.Write(message, extra);
        return output.ToArray();
    }

    /// <summary>An image the writer would refuse: magic and one framed message, unchecked.</summary>
    private static byte[] Unchecked(ImageKind kind, IMessage message)
    {
        byte[] magic = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, ImageMagic.Common);
        BinaryPrimitives.WriteUInt32LittleEndian(magic.AsSpan(4), kind.Magic);
        return [.. magic, .. Frame(message)];
    }

    private static byte[] Frame(IMessage message)
    {
        byte[] body = message.ToByteArray();
        byte[] size = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)body.Length);
        return [.. size, .. body];
    }
}
