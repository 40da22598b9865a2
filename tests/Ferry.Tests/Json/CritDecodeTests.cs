using System.Text.Json.Nodes;
using Ferry.Images.Json;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>Ferry renders every CRIU-made image exactly as crit 4.2's <c>decode --pretty</c> did.</summary>
public class CritDecodeTests
{
    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllImages), MemberType = typeof(CritVectors))]
    public void Rendering_equals_crit_text(string testCase, string image)
    {
        var expected = File.ReadAllText(CritVectors.CritJsonPath(testCase, image));
        var actual = ImageJson.ToText(ImageJson.DecodeFile(CritVectors.ImagePath(testCase, image)));
        Assert.Equal(expected, actual);
    }

    [SharedDataTheory]
    [MemberData(nameof(CritVectors.AllImages), MemberType = typeof(CritVectors))]
    public void Rendering_equals_crit_tree(string testCase, string image)
    {
        var expected = JsonNode.Parse(File.ReadAllText(CritVectors.CritJsonPath(testCase, image)));
        var actual = JsonNode.Parse(ImageJson.ToText(ImageJson.DecodeFile(CritVectors.ImagePath(testCase, image))));
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{testCase}/{image}: trees differ");
    }
}
