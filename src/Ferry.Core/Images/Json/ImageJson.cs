using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Ferry.Images.Protos;
using Google.Protobuf;

namespace Ferry.Images.Json;

/// <summary>
/// A whole image as crit's JSON, <c>{"magic": NAME, "entries": [...]}</c>, and back. Each entry is its message
/// (<see cref="MessageJson"/>) plus, where the image carries raw bytes after the entry, an "extra" member as crit
/// writes it: base64 text, {"inq","outq"} for TCP streams, the semaphore values for IPC semaphores, and
/// alternating message/base64 items for IPC message queues.
/// </summary>
public static class ImageJson
{
    /// <summary>crit's <c>decode</c>: the image at <paramref name="path"/> as JSON.</summary>
    public static JsonObject DecodeFile(string path, bool pretty = true)
    {
        using var reader = ImageReader.Open(path);
        return Decode(reader, pretty);
    }

    /// <summary>The remaining entries of <paramref name="reader"/> as crit's JSON.</summary>
    public static JsonObject Decode(ImageReader reader, bool pretty = true)
    {
        var entries = new JsonArray();
        long index = 0;
        while (reader.ReadEntry() is { } entry)
        {
            var json = MessageJson.ToJson(entry.Message, pretty);
            if (ExtraToJson(reader.Kind.ExtraAt(index), entry) is { } extra) json["extra"] = extra;
            entries.Add((JsonNode)json);
            index++;
        }
        return new JsonObject { ["magic"] = reader.Kind.Name, ["entries"] = entries };
    }

    /// <summary>crit's text of an image: <c>json.dump(image, indent=4)</c> and a newline.</summary>
    public static string ToText(JsonObject image, bool pretty = true) => PythonJsonText.Write(image, pretty ? 4 : null) + "\n";

    static JsonNode? ExtraToJson(ExtraPayload rule, ImageEntry entry)
    {
        switch (rule)
        {
            case ExtraPayload.None:
                return null;
            case ExtraPayload.GhostFile:
                return entry.As<ghost_file_entry>().Chunks ? null : PythonBase64.Encode(entry.Extra.Span);
            case ExtraPayload.TcpStream:
                var (inq, outq) = Payloads.TcpQueues(entry);
                return new JsonObject { ["inq"] = PythonBase64.Encode(inq.Span), ["outq"] = PythonBase64.Encode(outq.Span) };
            case ExtraPayload.IpcShm:
                return PythonBase64.Encode(Payloads.SharedMemory(entry).Span);
            case ExtraPayload.IpcSem:
                return new JsonArray([.. Payloads.SemaphoreValues(entry).Select(value => (JsonNode)value)]);
            case ExtraPayload.IpcMsg:
                // crit lists each message (plain, not pretty) followed by its text in base64.
                var items = new JsonArray();
                foreach (var (message, text) in Payloads.QueuedMessages(entry))
                {
                    items.Add((JsonNode)MessageJson.ToJson(message, pretty: false));
                    items.Add((JsonNode)PythonBase64.Encode(text.Span));
                }
                return items;
            default:
                return PythonBase64.Encode(entry.Extra.Span);
        }
    }

    /// <summary>Parses JSON text; syntax errors become <see cref="ImageJsonException"/> with line and byte.</summary>
    public static JsonNode Parse(ReadOnlySpan<byte> utf8)
    {
        // The JSON reader would quietly turn bad bytes inside strings into U+FFFD; Python refuses them, and so do we.
        var chars = new char[utf8.Length];
        if (Utf8.ToUtf16(utf8, chars, out var valid, out _, replaceInvalidSequences: false) == OperationStatus.InvalidData)
            throw new ImageJsonException($"byte {valid}", "UTF-8 text, found an invalid byte sequence");
        try
        {
            return JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = false })
                ?? throw new ImageJsonException("top level", "an object, got null");
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $"line {line + 1}, byte {e.BytePositionInLine + 1}" : "JSON text";
            throw new ImageJsonException(where, $"valid JSON ({FirstSentence(e.Message)})", e);
        }
    }

    static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message.TrimEnd('.') : message[..end];
    }

    /// <summary>crit's <c>encode</c>: writes the image that <paramref name="image"/> describes to <paramref name="output"/>.</summary>
    public static void Encode(JsonNode image, Stream output)
    {
        if (image is not JsonObject top) throw new ImageJsonException("top level", $"an object with \"magic\" and \"entries\", got {MessageJson.Describe(image)}");
        var name = top["magic"] is JsonValue m && m.TryGetValue(out string? magic) ? magic
            : throw new ImageJsonException("magic", $"an image magic name such as \"CORE\", got {MessageJson.Describe(top["magic"])}");
        var kind = ImageKinds.FindByName(name)
            ?? throw new ImageJsonException("magic", $"a known image magic name (INVENTORY, CORE, PSTREE, ...), got \"{name}\"");
        if (top["entries"] is not JsonArray entries)
            throw new ImageJsonException("entries", $"a list of entries, got {MessageJson.Describe(top["entries"])}");

        // Build every entry first so that bad input never leaves a half-written image behind.
        var built = new List<(IMessage Message, byte[] Extra)>();
        for (var i = 0; i < entries.Count; i++)
        {
            var path = $"entries[{i}]";
            if (entries[i] is not JsonObject entry) throw new ImageJsonException(path, $"an object, got {MessageJson.Describe(entries[i])}");
            var message = MessageJson.FromJson(entry, kind.DescriptorAt(i), path, reservedKey: "extra");
            var extra = ExtraFromJson(kind.ExtraAt(i), message, entry["extra"], $"{path}.extra");
            built.Add((message, extra));
        }
        using var writer = new ImageWriter(output, kind, leaveOpen: true);
        foreach (var (message, extra) in built) writer.Write(message, extra);
    }

    /// <summary>The raw bytes an entry's "extra" stands for; a missing "extra" means none, as in crit.</summary>
    static byte[] ExtraFromJson(ExtraPayload rule, IMessage message, JsonNode? extra, string path)
    {
        switch (rule)
        {
            case ExtraPayload.None:
                return [];
            case ExtraPayload.GhostFile when ((ghost_file_entry)message).Chunks:
                return [];
            case ExtraPayload.TcpStream:
                var stream = (tcp_stream_entry)message;
                if (extra is null) return Sized([], (ulong)stream.InqLen + stream.OutqLen, "inq_len + outq_len", path);
                if (extra is not JsonObject queues) throw new ImageJsonException(path, $"an object with \"inq\" and \"outq\", got {MessageJson.Describe(extra)}");
                return [.. Sized(Base64(queues["inq"], $"{path}.inq"), stream.InqLen, "inq_len", $"{path}.inq"),
                        .. Sized(Base64(queues["outq"], $"{path}.outq"), stream.OutqLen, "outq_len", $"{path}.outq")];
            case ExtraPayload.IpcShm:
                var shm = (ipc_shm_entry)message;
                if (shm.InPagemaps) return [];
                var data = Sized(Base64(extra, path), shm.Size, "size", path);
                return [.. data, .. new byte[ExtraPayloadRules.RoundUp(shm.Size, 4) - shm.Size]];
            case ExtraPayload.IpcSem:
                return SemaphoresFromJson((ipc_sem_entry)message, extra, path);
            case ExtraPayload.IpcMsg:
                return IpcMessagesFromJson((ipc_msg_entry)message, extra, path);
            default:
                var bytes = Base64(extra, path);
                if (ExtraPayloadRules.DeclaredLength(rule, message) is { } declared && declared != (ulong)bytes.Length)
                    throw new ImageJsonException(path, $"{declared} bytes as {message.Descriptor.Name} declares, got {bytes.Length}");
                return bytes;
        }
    }

    static byte[] Base64(JsonNode? node, string path) =>
        node is null ? [] : node is JsonValue v && v.TryGetValue(out string? text) && PythonBase64.Decode(text) is { } bytes
            ? bytes
            : throw new ImageJsonException(path, $"base64 text, got {MessageJson.Describe(node)}");

    static byte[] Sized(byte[] bytes, ulong declared, string field, string path) =>
        (ulong)bytes.Length == declared ? bytes : throw new ImageJsonException(path, $"{declared} bytes as {field} says, got {bytes.Length}");

    static byte[] SemaphoresFromJson(ipc_sem_entry set, JsonNode? extra, string path)
    {
        if (extra is null && set.Nsems == 0) return [];
        if (extra is not JsonArray values || values.Count != set.Nsems)
            throw new ImageJsonException(path, $"a list of {set.Nsems} semaphore values (nsems), got {MessageJson.Describe(extra)}");
        var bytes = new byte[ExtraPayloadRules.RoundUp(2UL * set.Nsems, 8)];
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i] is not JsonValue v || !v.TryGetValue(out ushort value))
                throw new ImageJsonException($"{path}[{i}]", $"a semaphore value from 0 to 65535, got {MessageJson.Describe(values[i])}");
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), value);
        }
        return bytes;
    }

    static byte[] IpcMessagesFromJson(ipc_msg_entry queue, JsonNode? extra, string path)
    {
        if (extra is null && queue.Qnum == 0) return [];
        if (extra is not JsonArray items || items.Count != 2 * queue.Qnum)
            throw new ImageJsonException(path, $"a list of {queue.Qnum} messages (qnum), each an object then base64 text, got {MessageJson.Describe(extra)}");
        using var bytes = new MemoryStream();
        Span<byte> size = stackalloc byte[4];
        for (var i = 0; i < items.Count; i += 2)
        {
            var message = (ipc_msg)MessageJson.FromJson(items[i], ipc_msg.Descriptor, $"{path}[{i}]");
            var text = Sized(Base64(items[i + 1], $"{path}[{i + 1}]"), message.Msize, "msize", $"{path}[{i + 1}]");
            BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)message.CalculateSize());
            bytes.Write(size);
            message.WriteTo(bytes);
            bytes.Write(text);
            bytes.Write(new byte[ExtraPayloadRules.RoundUp(message.Msize, 8) - message.Msize]);
        }
        return bytes.ToArray();
    }
}
