using System.Collections;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Ferry.Images.Json;

/// <summary>
/// One protobuf message to crit's JSON object (crit's <c>pb2dict</c>), driven by descriptors: the set fields in
/// field-number order, enums by name, bytes in base64, and when <c>pretty</c> the <c>(criu)</c>
/// options applied: hex numbers (inherited by nested messages), IP addresses, flag names, "major:minor"
/// devices and named values. <see cref="FromJson"/> is the reverse (crit's <c>dict2pb</c>): it takes those forms
/// and plain numbers alike.
/// </summary>
public static class MessageJson
{
    public static JsonObject ToJson(IMessage message, bool pretty) => ToJson(message, pretty, inheritedHex: false);

    static JsonObject ToJson(IMessage message, bool pretty, bool inheritedHex)
    {
        var json = new JsonObject();
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsRepeated)
            {
                var items = (IList)value;
                if (items.Count == 0) continue;
                json[field.Name] = RepeatedToJson(field, items, pretty, inheritedHex);
            }
            else if (field.Accessor.HasValue(message))
            {
                json[field.Name] = ValueToJson(field, value, pretty, inheritedHex);
            }
        }
        return json;
    }

    static JsonArray RepeatedToJson(FieldDescriptor field, IList items, bool pretty, bool inheritedHex)
    {
        if (pretty && CritFieldOptions.Of(field).IpAddress
            && IpAddressWords.Format(items.Cast<object>().Select(Convert.ToUInt32).ToArray()) is { } address)
            return new JsonArray(address);
        var array = new JsonArray();
        foreach (var item in items) array.Add(ValueToJson(field, item, pretty, inheritedHex));
        return array;
    }

    static JsonNode ValueToJson(FieldDescriptor field, object value, bool pretty, bool inheritedHex)
    {
        var options = CritFieldOptions.Of(field);
        var hex = inheritedHex || options.Hex;
        switch (field.FieldType)
        {
            case FieldType.Message:
            case FieldType.Group:
                return ToJson((IMessage)value, pretty, hex);
            case FieldType.Bytes:
                var bytes = ((ByteString)value).Span;
                return options.Conv == "unix_name" ? QuotedPrintable.Encode(bytes) : PythonBase64.Encode(bytes);
            case FieldType.Enum:
                var number = Convert.ToInt32(value);
                return field.EnumType.FindValueByNumber(number) is { } named ? named.Name : number;
            case FieldType.Bool:
                return (bool)value;
            case FieldType.String:
                return (string)value;
            case FieldType.Float:
            case FieldType.Double:
                return Convert.ToDouble(value);
            default:
                var integer = ProtoIntegers.ToInt128(value);
                return pretty ? PrettyInteger(field, options, integer, hex) : ProtoIntegers.ToJson(integer);
        }
    }

    /// <summary>crit's order of preference: hex, then device, then flag names, then a named value.</summary>
    static JsonNode PrettyInteger(FieldDescriptor field, CritFieldOptions options, Int128 value, bool hex)
    {
        if (hex) return PythonInt.Hex(value);
        if (options.Dev) return DeviceNumber.Format(value, options.OldDev);
        if (options.Flags.Length > 0)
        {
            return CritValueNames.FlagMaps.TryGetValue(options.Flags, out var map)
                ? CritValueNames.FormatFlags(value, map)
                : PythonInt.Hex(value); // crit: "flags are better seen as hex anyway"
        }
        if (options.Dict.Length > 0
            && CritValueNames.DictMaps.TryGetValue(options.Dict, out var maps)
            && maps.TryGetValue(field.Name, out var names)
            && value >= long.MinValue && value <= long.MaxValue
            && names.TryGetValue((long)value, out var name))
            return name;
        return ProtoIntegers.ToJson(value);
    }

    /// <summary>
    /// A message of type <paramref name="descriptor"/> built from <paramref name="json"/>; <paramref name="path"/>
    /// names the object in error messages. Keys that are not fields of the message are refused, except
    /// <paramref name="reservedKey"/> (an image entry's "extra", which is not part of the message).
    /// </summary>
    public static IMessage FromJson(JsonNode? json, MessageDescriptor descriptor, string path, string? reservedKey = null)
    {
        if (json is not JsonObject obj) throw new ImageJsonException(path, $"an object for {descriptor.Name}, got {Describe(json)}");
        // ClrType keeps its constructor under trimming/AOT; the parser would insist on required fields.
        var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
        foreach (var (key, node) in obj)
        {
            if (key == reservedKey) continue;
            var field = descriptor.FindFieldByName(key)
                ?? throw new ImageJsonException($"{path}.{key}", $"a field of {descriptor.Name} (no field has that name)");
            var fieldPath = $"{path}.{key}";
            if (field.IsRepeated)
                FillRepeated(message, field, node, fieldPath);
            else
                field.Accessor.SetValue(message, ValueFromJson(field, node, fieldPath));
        }
        if (!message.IsInitialized())
        {
            var missing = descriptor.Fields.InFieldNumberOrder().First(f => f.IsRequired && !f.Accessor.HasValue(message));
            throw new ImageJsonException(path, $"the required field {missing.Name} of {descriptor.Name}");
        }
        return message;
    }

    static void FillRepeated(IMessage message, FieldDescriptor field, JsonNode? node, string path)
    {
        if (node is not JsonArray array) throw new ImageJsonException(path, $"a list, got {Describe(node)}");
        var items = (IList)field.Accessor.GetValue(message);
        if (CritFieldOptions.Of(field).IpAddress && array.Count > 0 && array[0] is JsonValue first
            && first.TryGetValue(out string? address))
        {
            if (array.Count != 1) throw new ImageJsonException(path, "a list with one IP address string");
            foreach (var word in IpAddressWords.Parse(address)
                ?? throw new ImageJsonException($"{path}[0]", $"an IPv4 or IPv6 address, got {Describe(first)}"))
                items.Add(word);
            return;
        }
        for (var i = 0; i < array.Count; i++) items.Add(ValueFromJson(field, array[i], $"{path}[{i}]"));
    }

    static object ValueFromJson(FieldDescriptor field, JsonNode? node, string path)
    {
        var options = CritFieldOptions.Of(field);
        switch (field.FieldType)
        {
            case FieldType.Message:
            case FieldType.Group:
                return FromJson(node, field.MessageType, path);
            case FieldType.Bytes:
                var text = StringOf(node, path, options.Conv == "unix_name" ? "quoted-printable text" : "base64 text");
                var bytes = options.Conv == "unix_name" ? QuotedPrintable.Decode(text) : PythonBase64.Decode(text);
                return bytes is null
                    ? throw new ImageJsonException(path, $"{(options.Conv == "unix_name" ? "quoted-printable ASCII" : "base64")} text, got {Describe(node)}")
                    : ByteString.CopyFrom(bytes);
            case FieldType.Enum:
                return EnumFromJson(field, node, path);
            case FieldType.Bool:
                if (node is JsonValue b && b.TryGetValue(out bool flag)) return flag;
                if (node is JsonValue n && n.TryGetValue(out long number)) return number != 0;
                throw new ImageJsonException(path, $"true or false, got {Describe(node)}");
            case FieldType.String:
                return StringOf(node, path, "a string");
            case FieldType.Float:
                return node is JsonValue f && f.TryGetValue(out float single) ? single : throw new ImageJsonException(path, $"a number, got {Describe(node)}");
            case FieldType.Double:
                return node is JsonValue d && d.TryGetValue(out double real) ? real : throw new ImageJsonException(path, $"a number, got {Describe(node)}");
            default:
                var value = IntegerFromJson(field, options, node, path);
                return ProtoIntegers.FromInt128(value, field.FieldType)
                    ?? throw new ImageJsonException(path, $"{ProtoIntegers.RangeName(field.FieldType)}, got {Describe(node)}");
        }
    }

    static object EnumFromJson(FieldDescriptor field, JsonNode? node, string path)
    {
        // A number is taken as it is, named or not: an image may hold values newer than our schema (they render as numbers).
        if (node is JsonValue n && n.TryGetValue(out int number)) return Enum.ToObject(field.EnumType.ClrType, number);
        if (node is JsonValue v && v.TryGetValue(out string? name) && field.EnumType.FindValueByName(name) is { } value)
            return Enum.ToObject(field.EnumType.ClrType, value.Number);
        var names = string.Join(", ", field.EnumType.Values.Select(e => e.Name));
        throw new ImageJsonException(path, $"one of {field.EnumType.Name} ({names}) or a number, got {Describe(node)}");
    }

    /// <summary>A JSON number, or a string in any form crit writes or reads: device, flags, named value, int(x, 0).</summary>
    static Int128 IntegerFromJson(FieldDescriptor field, CritFieldOptions options, JsonNode? node, string path)
    {
        if (node is JsonValue v)
        {
            if (v.TryGetValue(out long signed)) return signed;
            if (v.TryGetValue(out ulong unsigned)) return unsigned;
            if (v.TryGetValue(out string? text))
            {
                if (options.Dev)
                {
                    return DeviceNumber.Parse(text, options.OldDev)
                        ?? throw new ImageJsonException(path, $"a device as \"major:minor\", got {Describe(node)}");
                }
                if (CritValueNames.FlagMaps.TryGetValue(options.Flags, out var map))
                {
                    return CritValueNames.ParseFlags(text, map)
                        ?? throw new ImageJsonException(path, $"flag names ({string.Join(", ", map.Select(m => m.Name))}) or numbers joined by '|', got {Describe(node)}");
                }
                if (CritValueNames.DictMaps.TryGetValue(options.Dict, out var maps) && maps.TryGetValue(field.Name, out var names))
                {
                    var named = names.FirstOrDefault(entry => entry.Value == text);
                    if (named.Value is not null) return named.Key;
                }
                if (PythonInt.TryParse(text, out var parsed)) return parsed;
            }
        }
        throw new ImageJsonException(path, $"an integer (a number or a string such as \"0x1f\"), got {Describe(node)}");
    }

    static string StringOf(JsonNode? node, string path, string expected) =>
        node is JsonValue v && v.TryGetValue(out string? text) ? text : throw new ImageJsonException(path, $"{expected}, got {Describe(node)}");

    /// <summary>A short description of a JSON value for error messages.</summary>
    internal static string Describe(JsonNode? node)
    {
        var text = node switch
        {
            null => "null",
            JsonObject => "an object",
            JsonArray => "a list",
            _ => node.ToJsonString(),
        };
        return text.Length > 60 ? text[..57] + "..." : text;
    }
}
