using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ferry.Images.Json;

/// <summary>
/// Writes a JSON tree as Python's <c>json.dump(obj, indent=N)</c> does with its default
/// <c>ensure_ascii=True</c>, so that Ferry's output is byte-identical to crit's: ", " / ": " separators
/// without indent, "," at line ends with indent, empty containers as "[]" and "{}", and every character
/// outside printable ASCII escaped as a lower-case <c>\uXXXX</c> (UTF-16 code units, as Python does).
/// </summary>
public static class PythonJsonText
{
    /// <summary>The text of <paramref name="node"/>; <paramref name="indent"/> null gives the one-line form.</summary>
    public static string Write(JsonNode? node, int? indent)
    {
        var text = new StringBuilder();
        Append(text, node, indent, 0);
        return text.ToString();
    }

    static void Append(StringBuilder text, JsonNode? node, int? indent, int level)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                AppendObject(text, obj, indent, level);
                break;
            case JsonArray array:
                AppendArray(text, array, indent, level);
                break;
            case JsonValue value:
                AppendValue(text, value);
                break;
        }
    }

    static void AppendObject(StringBuilder text, JsonObject obj, int? indent, int level)
    {
        if (obj.Count == 0)
        {
            text.Append("{}");
            return;
        }
        text.Append('{');
        var first = true;
        foreach (var (key, child) in obj)
        {
            AppendSeparator(text, indent, level + 1, first);
            first = false;
            AppendString(text, key);
            text.Append(": ");
            Append(text, child, indent, level + 1);
        }
        AppendClosingLine(text, indent, level);
        text.Append('}');
    }

    static void AppendArray(StringBuilder text, JsonArray array, int? indent, int level)
    {
        if (array.Count == 0)
        {
            text.Append("[]");
            return;
        }
        text.Append('[');
        var first = true;
        foreach (var child in array)
        {
            AppendSeparator(text, indent, level + 1, first);
            first = false;
            Append(text, child, indent, level + 1);
        }
        AppendClosingLine(text, indent, level);
        text.Append(']');
    }

    static void AppendSeparator(StringBuilder text, int? indent, int level, bool first)
    {
        if (indent is int width)
        {
            if (!first) text.Append(',');
            text.Append('\n').Append(' ', width * level);
        }
        else if (!first)
        {
            text.Append(", ");
        }
    }

    static void AppendClosingLine(StringBuilder text, int? indent, int level)
    {
        if (indent is int width)
            text.Append('\n').Append(' ', width * level);
    }

    static void AppendValue(StringBuilder text, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                AppendString(text, value.GetValue<string>());
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            case JsonValueKind.Number:
                text.Append(NumberText(value));
                break;
            default:
                text.Append("null");
                break;
        }
    }

    /// <summary>Integers print in decimal like Python's int; anything else keeps its JSON text.</summary>
    static string NumberText(JsonValue value)
    {
        if (value.TryGetValue(out long signed)) return signed.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue(out ulong unsigned)) return unsigned.ToString(CultureInfo.InvariantCulture);
        return value.ToJsonString();
    }

    static void AppendString(StringBuilder text, string s)
    {
        text.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c >= ' ' && c <= '~') text.Append(c);
                    else text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }
        text.Append('"');
    }
}
