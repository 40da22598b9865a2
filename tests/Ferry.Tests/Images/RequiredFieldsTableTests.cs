using Ferry.Images;
using Ferry.Images.Protos;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Xunit;

namespace Ferry.Tests.Images;

/// <summary>
/// The required-field table (generated from the schemas by scripts/gen-required-fields.py) must say exactly what the
/// protobuf descriptors say, so the descriptor-free check in ImageReader/ImageWriter cannot drift from the schemas.
/// </summary>
public sealed class RequiredFieldsTableTests
{
    private const string Regenerate = "rerun scripts/gen-required-fields.py";

    [Fact]
    public void TableMatchesTheDescriptorsOfEverySchemaMessage()
    {
        var descriptors = typeof(core_entry).Assembly.GetTypes()
            .Where(t => t.Namespace == "Ferry.Images.Protos" && typeof(IMessage).IsAssignableFrom(t))
            .Select(t => ((IMessage)Activator.CreateInstance(t)!).Descriptor)
            .ToDictionary(d => d.ClrType);
        var needsCheck = NeedsCheck(descriptors.Values);
        var table = RequiredFields.All.ToDictionary(p => p.Key, p => p.Value);

        Assert.True(needsCheck.SetEquals(table.Keys), $"messages with required fields differ: {Regenerate}");
        foreach (var type in needsCheck)
        {
            var descriptor = descriptors[type];
            var rule = table[type];
            var required = descriptor.Fields.InFieldNumberOrder().Where(f => f.IsRequired).Select(f => f.FieldNumber);
            var nested = descriptor.Fields.InFieldNumberOrder()
                .Where(f => f.FieldType == FieldType.Message && needsCheck.Contains(f.MessageType.ClrType))
                .Select(f => (f.FieldNumber, f.MessageType.ClrType));
            Assert.True(required.SequenceEqual(rule.Required), $"{descriptor.Name}: required fields differ: {Regenerate}");
            Assert.True(nested.SequenceEqual(rule.Nested), $"{descriptor.Name}: nested messages differ: {Regenerate}");
        }
    }

    [Fact]
    public void MessageTypeNamesAreTheSchemaNames()
    {
        foreach (var kind in typeof(ImageKinds).GetFields().Select(f => f.GetValue(null)).OfType<ImageKind>())
            for (int index = 0; index < 2; index++)
                Assert.Equal(kind.DescriptorAt(index).Name, kind.TypeAt(index).Name);
    }

    [Fact]
    public void DeepMissingFieldIsFoundAndCompleteMessagesPass()
    {
        var core = new core_entry
        {
            Mtype = core_entry.Types.march.X8664,
            Tc = new task_core_entry { TaskState = 1, ExitCode = 0, Personality = 0, Flags = 0, BlkSigset = 0, Comm = "x" },
        };
        var type = ImageKinds.Core.TypeAt(0);
        Assert.True(type.HasRequiredFields(core.ToByteArray()));

        core.Tc.Timers = new task_timers_entry { Real = new itimer_entry { Isec = 1, Iusec = 0, Vsec = 0 } };
        Assert.False(type.HasRequiredFields(core.ToByteArray()));
        core.Tc.Timers.Real.Vusec = 0;
        Assert.False(type.HasRequiredFields(core.ToByteArray()));
        core.Tc.Timers.Virt = core.Tc.Timers.Real;
        core.Tc.Timers.Prof = core.Tc.Timers.Real;
        Assert.True(type.HasRequiredFields(core.ToByteArray()));
        Assert.Equal(core.IsInitialized(), type.HasRequiredFields(core.ToByteArray()));
    }

    [Fact]
    public void WriterRefusesAnEntryWithoutItsRequiredFields()
    {
        using var writer = new ImageWriter(new MemoryStream(), ImageKinds.Pstree);
        var error = Assert.Throws<ArgumentException>(() => writer.Write(new pstree_entry { Pid = 1 }));
        Assert.Contains("pstree_entry lacks required fields", error.Message);
    }

    /// <summary>Messages with required fields themselves or in a message field at any depth.</summary>
    private static HashSet<Type> NeedsCheck(IEnumerable<MessageDescriptor> all)
    {
        var needs = all.Where(d => d.Fields.InDeclarationOrder().Any(f => f.IsRequired)).Select(d => d.ClrType).ToHashSet();
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (var d in all)
                if (!needs.Contains(d.ClrType) && d.Fields.InDeclarationOrder()
                        .Any(f => f.FieldType == FieldType.Message && needs.Contains(f.MessageType.ClrType)))
                    grew = needs.Add(d.ClrType);
        }
        return needs;
    }
}
