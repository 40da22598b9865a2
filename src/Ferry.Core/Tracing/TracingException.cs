namespace Ferry.Tracing;

/// <summary>A tracee did something the tracer did not expect: it exited, or stopped for another reason.</summary>
public sealed class TracingException(string message) : Exception(message);
