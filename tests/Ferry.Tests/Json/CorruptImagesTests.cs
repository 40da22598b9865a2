using System.Text;
using Ferry.Images;
using Ferry.Images.Json;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>Damaged images give ImageFormatException, or a rendering that encodes again; nothing else escapes.</summary>
public class CorruptImagesTests
{
    [SharedDataTheory]
    [InlineData("tcp-loopback", "files.img")]
    [InlineData("tcp-loopback", "tcp-stream-27b27b.img")]
    [InlineData("signals", "core-30500.img")]
    [InlineData("pipe-tree", "pipes-data.img")]
    [InlineData("unix-socketpair", "sk-queues.img")]
    [InlineData("threads", "mm-30300.img")]
    [InlineData("counter-static", "pagemap-30100.img")]
    public void Damaged_images_fail_cleanly_or_encode_again(string testCase, string image)
    {
        var original = File.ReadAllBytes(CritVectors.ImagePath(testCase, image));
        var random = new Random(original.Length);
        for (var round = 0; round < 300; round++)
        {
            var damaged = (byte[])original.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                damaged[random.Next(8, damaged.Length)] ^= (byte)random.Next(1, 256);
            string text;
            try
            {
                using var reader = new ImageReader(new MemoryStream(damaged), image);
                text = ImageJson.ToText(ImageJson.Decode(reader));
            }
            catch (ImageFormatException)
            {
                continue;
            }
            // Whatever decodes must encode again: the rendering loses nothing the schema knows.
            ImageJson.Encode(ImageJson.Parse(Encoding.UTF8.GetBytes(text)), new MemoryStream());
        }
    }
}
