using System.Text;
using System.Text.Json.Nodes;
using Ferry.Images.Json;
using Xunit;

namespace Ferry.Tests.Json;

/// <summary>The Python conventions crit's output depends on; expected strings were produced by Python 3.11.</summary>
public class PythonFormatTests
{
    [Fact]
    public void Json_text_matches_python_json_dump_with_indent()
    {
        var tree = JsonNode.Parse("""{"a": [], "b": {}, "c": "\u00e9\u2603\ud83d\ude00\u007f\u0001\"\\/", "d": [1, {"e": true, "f": null}]}""");
        const string python = """
            {
                "a": [],
                "b": {},
                "c": "\u00e9\u2603\ud83d\ude00\u007f\u0001\"\\/",
                "d": [
                    1,
                    {
                        "e": true,
                        "f": null
                    }
                ]
            }
            """;
        Assert.Equal(python, PythonJsonText.Write(tree, 4));
    }

    [Fact]
    public void Json_text_matches_python_json_dump_without_indent()
    {
        var tree = JsonNode.Parse("""{"a": [], "b": {}, "c": [1, 2], "d": {"x": false}, "u": 18446744073709551615}""");
        Assert.Equal("""{"a": [], "b": {}, "c": [1, 2], "d": {"x": false}, "u": 18446744073709551615}""", PythonJsonText.Write(tree, null));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("\0/tmp/sock=1 \t", "=00/tmp/sock=3D1 =09")]
    [InlineData(".\nab \nc\u00ff", "=2E\nab=20\nc=FF")]
    [InlineData("line\r\nnext ", "line\r\nnext=20")]
    public void Quoted_printable_matches_python_quopri(string latin1, string expected)
    {
        var bytes = Encoding.Latin1.GetBytes(latin1);
        Assert.Equal(expected, QuotedPrintable.Encode(bytes));
        Assert.Equal(bytes, QuotedPrintable.Decode(expected));
    }

    [Fact]
    public void Quoted_printable_breaks_long_lines_like_python()
    {
        var a80 = new string('a', 80);
        Assert.Equal(new string('a', 75) + "=\naaaaa", QuotedPrintable.Encode(Encoding.ASCII.GetBytes(a80)));
        Assert.Equal(new string('x', 74) + "=\n=3D", QuotedPrintable.Encode(Encoding.ASCII.GetBytes(new string('x', 74) + "=")));
        Assert.Equal(Encoding.ASCII.GetBytes(a80), QuotedPrintable.Decode(new string('a', 75) + "=\naaaaa"));
        Assert.Null(QuotedPrintable.Decode("caf\u00e9"));
    }

    [Fact]
    public void Base64_has_a_newline_every_76_characters_and_at_the_end()
    {
        var bytes = Enumerable.Range(0, 120).Select(i => (byte)i).ToArray();
        const string python = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\n" +
                              "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\n" +
                              "cnN0dXZ3\n";
        Assert.Equal(python, PythonBase64.Encode(bytes));
        Assert.Equal("", PythonBase64.Encode([]));
        Assert.Equal(bytes, PythonBase64.Decode(python));
        Assert.Equal("ab"u8.ToArray(), PythonBase64.Decode("YW\nI=\n"));
        Assert.Null(PythonBase64.Decode("YWI"));
    }

    [Theory]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("1::")]
    [InlineData("fe80::1:0:0:2")]
    [InlineData("2001:db8::1:0:0:1")]
    [InlineData("::ffff:7f00:1")]
    [InlineData("1:0:2:0:3:0:4:0")]
    [InlineData("0:0:1::2:0")]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.200.3")]
    public void Ip_addresses_print_as_python_ipaddress_compressed(string address)
    {
        var words = IpAddressWords.Parse(address);
        Assert.NotNull(words);
        Assert.Equal(address, IpAddressWords.Format(words));
    }

    [Fact]
    public void Ipv4_words_hold_the_address_in_network_order()
    {
        Assert.Equal([0x0100007fu], IpAddressWords.Parse("127.0.0.1")!);
        Assert.Equal("127.0.0.1", IpAddressWords.Format([0x0100007fu]));
        Assert.Null(IpAddressWords.Format([1u, 2u]));
        Assert.Null(IpAddressWords.Parse("127.1"));
        Assert.Null(IpAddressWords.Parse("not an address"));
    }

    [Theory]
    [InlineData("0x1f", "31")]
    [InlineData("  -0x10 ", "-16")]
    [InlineData("0o17", "15")]
    [InlineData("0b101", "5")]
    [InlineData("1_000", "1000")]
    [InlineData("0", "0")]
    [InlineData("00", "0")]
    [InlineData("0xffffffffffffffff", "18446744073709551615")]
    public void Python_int_base_0_parses(string text, string expected)
    {
        Assert.True(PythonInt.TryParse(text, out var value));
        Assert.Equal(Int128.Parse(expected), value);
    }

    [Theory]
    [InlineData("010")]
    [InlineData("0x")]
    [InlineData("1__0")]
    [InlineData("_1")]
    [InlineData("12a")]
    [InlineData("")]
    [InlineData("PROT_READ")]
    public void Python_int_base_0_refuses(string text) => Assert.False(PythonInt.TryParse(text, out _));

    [Fact]
    public void Hex_is_python_percent_x()
    {
        Assert.Equal("0x0", PythonInt.Hex(0));
        Assert.Equal("0xffffffffffffffff", PythonInt.Hex(ulong.MaxValue));
        Assert.Equal("-0x5", PythonInt.Hex(-5));
    }
}
