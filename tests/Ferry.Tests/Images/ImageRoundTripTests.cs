using System.Text.Json;
using Ferry.Images;
using Ferry.Tests.Support;
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
}
