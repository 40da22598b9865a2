using System.Collections.Concurrent;
using Ferry.Images.Protos;
using Google.Protobuf.Reflection;

namespace Ferry.Images.Json;

/// <summary>
/// A field's <c>(criu)</c> option (extension 1018 of FieldOptions): how crit shows its value. Read once per
/// field from the descriptor; fields without the option get <see cref="None"/>.
/// </summary>
public sealed record CritFieldOptions(bool Hex, bool IpAddress, string Flags, bool Dev, bool OldDev, string Dict, string Conv)
{
    public static readonly CritFieldOptions None = new(false, false, "", false, false, "", "");

    static readonly ConcurrentDictionary<FieldDescriptor, CritFieldOptions> Cache = new();

    public static CritFieldOptions Of(FieldDescriptor field) => Cache.GetOrAdd(field, Read);

    static CritFieldOptions Read(FieldDescriptor field)
    {
        var options = field.GetOptions();
        if (options is null || !options.HasExtension(OptsExtensions.Criu)) return None;
        var criu = options.GetExtension(OptsExtensions.Criu);
        return new CritFieldOptions(criu.Hex, criu.Ipadd, criu.Flags, criu.Dev, criu.Odev, criu.Dict, criu.Conv);
    }
}
