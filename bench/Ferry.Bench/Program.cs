using Ferry.Bench;

// Usage: Ferry.Bench [name...]   (no name or "all" runs every benchmark)
var benchmarks = new Dictionary<string, Action>(StringComparer.Ordinal)
{
    ["decode"] = DecodeBenchmark.Run,
    ["dump"] = DumpBenchmark.Run,
    ["restore"] = RestoreBenchmark.Run,
    ["tree"] = TreeBenchmark.Run,
};

var selected = args.Length == 0 || args.Contains("all") ? [.. benchmarks.Keys] : args;
foreach (string name in selected)
{
    if (!benchmarks.TryGetValue(name, out var run))
    {
        Console.Error.WriteLine($"unknown benchmark '{name}'; known: {string.Join(", ", benchmarks.Keys)}");
        return 2;
    }
    Console.WriteLine($"== {name}");
    run();
}
return 0;
