using System.Text.Json;
using Ferry.Images;
using Ferry.Tests.Support;
using Google.Protobuf.Reflection;
using Xunit;

namespace Ferry.Tests.Images;

public sealed class ImageRoundTripTests
{
    [SharedDataTheory]
    [MemberData(nameof(TestVectors.ProtobufImages), MemberType = typeof(TestVectors))]
    public void CriuImageDecodesAndReencodesByteForByte(string caseName, string file)
    {
        string path = TestVectors.PathOf(caseName, file);
        byte[] original = File.ReadAllBytes(path);

        Image image = ImageReader.ReadFile(path);
        var output = new MemoryStream();
        ImageWriter.Write(output, image);

        Assert.NotEmpty(image.Entries);
        Assert.Equal(original, output.ToArray());
    }

    [SharedDataTheory]
    [MemberData(nameof(TestVectors.ProtobufImages), MemberType = typeof(TestVectors))]
    public void KindAndEntryCountMatchCrit(string caseName, string file)
    {
        string critJson = Path.Combine(SharedTestData.Criu42, caseName, "crit", file + ".json");
        using var crit = JsonDocument.Parse(File.ReadAllText(critJson));

        Image image = ImageReader.ReadFile(TestVectors.PathOf(caseName, file));

        Assert.Equal(crit.RootElement.GetProperty("magic").GetString(), image.Kind.Name);
        Assert.Equal(crit.RootElement.GetProperty("entries").GetArrayLength(), image.Entries.Count);
    }

    [SharedDataTheory]
    [MemberData(nameof(TestVectors.ProtobufImages), MemberType = typeof(TestVectors))]
    public void PayloadsMatchCritsExtra(string caseName, string file)
    {
        string critJson = Path.Combine(SharedTestData.Criu42, caseName, "crit", file + ".json");
        using var crit = JsonDocument.Parse(File.ReadAllText(critJson));
        var critEntries = crit.RootElement.GetProperty("entries").EnumerateArray().ToArray();

        Image image = ImageReader.ReadFile(TestVectors.PathOf(caseName, file));

        for (int i = 0; i < critEntries.Length; i++)
        {
            ImageEntry entry = image.Entries[i];
            if (!critEntries[i].TryGetProperty("extra", out var extra))
            {
                Assert.True(entry.Extra.IsEmpty);
                continue;
            }
            if (extra.ValueKind == JsonValueKind.Object)
            {
                var (inq, outq) = Payloads.TcpQueues(entry);
                Assert.Equal(Base64(extra.GetProperty("inq")), inq.ToArray());
                Assert.Equal(Base64(extra.GetProperty("outq")), outq.ToArray());
            }
            else
            {
                Assert.Equal(Base64(extra), entry.Extra.ToArray());
            }
        }
    }

    [SharedDataTheory]
    [MemberData(nameof(TestVectors.ProtobufImages), MemberType = typeof(TestVectors))]
    public void EveryFieldCritPrintsExistsInOurSchemas(string caseName, string file)
    {
        string critJson = Path.Combine(SharedTestData.Criu42, caseName, "crit", file + ".json");
        using var crit = JsonDocument.Parse(File.ReadAllText(critJson));
        ImageKind kind = ImageKinds.FindByName(crit.RootElement.GetProperty("magic").GetString()!)!;

        int index = 0;
        foreach (var entry in crit.RootElement.GetProperty("entries").EnumerateArray())
            AssertFieldsExist(kind.DescriptorAt(index++), entry, kind.Name);
    }

    private static void AssertFieldsExist(MessageDescriptor descriptor, JsonElement json, string path)
    {
        foreach (var property in json.EnumerateObject())
        {
            if (property.Name == "extra")
                continue;
            var field = descriptor.FindFieldByName(property.Name);
            Assert.True(field is not null, $"{path}: {descriptor.Name} has no field '{property.Name}'");
            if (field.FieldType != FieldType.Message)
                continue;
            var values = property.Value.ValueKind == JsonValueKind.Array ? property.Value.EnumerateArray().ToArray() : [property.Value];
            foreach (var value in values)
                AssertFieldsExist(field.MessageType, value, $"{path}.{property.Name}");
        }
    }

    private static byte[] Base64(JsonElement element) => Convert.FromBase64String(element.GetString()!.Replace("\n", ""));
}
