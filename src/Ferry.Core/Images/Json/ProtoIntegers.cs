using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;

namespace Ferry.Images.Json;

/// <summary>Moves protobuf integer values (boxed int, uint, long, ulong) through Int128 and back, range-checked.</summary>
internal static class ProtoIntegers
{
    public static Int128 ToInt128(object boxed) => boxed switch
    {
        int i => i,
        uint u => u,
        long l => l,
        ulong ul => ul,
        _ => throw new ArgumentException($"not a protobuf integer: {boxed.GetType().Name}", nameof(boxed)),
    };

    public static JsonNode ToJson(Int128 value) =>
        value >= long.MinValue && value <= long.MaxValue ? JsonValue.Create((long)value) : JsonValue.Create((ulong)value);

    /// <summary>The boxed CLR value a field of <paramref name="type"/> holds, or null when out of its range.</summary>
    public static object? FromInt128(Int128 value, FieldType type) => type switch
    {
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 =>
            value >= int.MinValue && value <= int.MaxValue ? (int)value : null,
        FieldType.UInt32 or FieldType.Fixed32 => value >= 0 && value <= uint.MaxValue ? (uint)value : null,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 =>
            value >= long.MinValue && value <= long.MaxValue ? (long)value : null,
        FieldType.UInt64 or FieldType.Fixed64 => value >= 0 && value <= ulong.MaxValue ? (ulong)value : null,
        _ => null,
    };

    public static string RangeName(FieldType type) => type switch
    {
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => "a 32-bit signed integer",
        FieldType.UInt32 or FieldType.Fixed32 => "a 32-bit unsigned integer",
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => "a 64-bit signed integer",
        _ => "a 64-bit unsigned integer",
    };
}
