using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ferry.Check;

/// <summary>Renders check rows for people (a table) or scripts (JSON).</summary>
public static class CheckReport
{
    public static void WriteText(TextWriter output, IReadOnlyList<CheckRow> rows)
    {
        output.WriteLine($"Linux {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");
        var nameWidth = rows.Max(r => r.Name.Length);
        foreach (var row in rows)
        {
            output.WriteLine($"{row.Status,-8}{row.Name.PadRight(nameWidth)}  {(row.Required ? "required" : "optional")}: {row.Affects}");
            output.WriteLine($"{"",-8}{row.Detail}");
        }
        var missing = rows.Where(r => !r.Ok && r.Required).Select(r => r.Name).ToList();
        output.WriteLine(missing.Count == 0
            ? "Dump and restore can work on this kernel."
            : $"Dump and restore cannot work: missing {string.Join(", ", missing)}.");
    }

    public static void WriteJson(Stream output, IReadOnlyList<CheckRow> rows)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("kernel", File.ReadAllText("/proc/sys/kernel/osrelease").Trim());
        json.WriteBoolean("canDumpAndRestore", KernelCheck.CanDumpAndRestore(rows));
        json.WriteStartArray("features");
        foreach (var row in rows)
        {
            json.WriteStartObject();
            json.WriteString("name", row.Name);
            json.WriteString("status", row.Status);
            json.WriteBoolean("required", row.Required);
            json.WriteString("affects", row.Affects);
            json.WriteString("detail", row.Detail);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
