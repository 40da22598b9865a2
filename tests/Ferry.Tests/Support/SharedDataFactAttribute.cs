using Xunit;

namespace Ferry.Tests.Support;

/// <summary>A fact that is skipped, with the reason shown, when the shared CRIU test vectors are not beside the clone.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute()
    {
        if (SharedTestData.Root is null) Skip = SharedTestData.MissingReason;
    }
}

/// <summary>The theory form of <see cref="SharedDataFactAttribute"/>.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute()
    {
        if (SharedTestData.Root is null) Skip = SharedTestData.MissingReason;
    }
}
