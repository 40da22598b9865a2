using System.Text;
using Ferry.Images.Json;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>crit's JSON of every CRIU-made image encodes back to the very bytes CRIU wrote.</summary>
public class CritEncodeTests
{
    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllImages), MemberType = typeof(CritVectors))]
    public void Crit_pretty_json_encodes_to_the_original_image(string testCase, string image)
    {
        var json = ImageJson.Parse(File.ReadAllBytes(CritVectors.CritJsonPath(testCase, image)));
        Assert.Equal(File.ReadAllBytes(CritVectors.ImagePath(testCase, image)), Encode(json));
    }

    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllImages), MemberType = typeof(CritVectors))]
    public void Plain_json_encodes_to_the_original_image(string testCase, string image)
    {
        // Without --pretty every number stays a number: the reverse must take those too.
        var plain = ImageJson.ToText(ImageJson.DecodeFile(CritVectors.ImagePath(testCase, image), pretty: false), pretty: false);
        var json = ImageJson.Parse(Encoding.UTF8.GetBytes(plain));
        Assert.Equal(File.ReadAllBytes(CritVectors.ImagePath(testCase, image)), Encode(json));
    }

    static byte[] Encode(System.Text.Json.Nodes.JsonNode json)
    {
        using var output = new MemoryStream();
        ImageJson.Encode(json, output);
        return output.ToArray();
    }
}
