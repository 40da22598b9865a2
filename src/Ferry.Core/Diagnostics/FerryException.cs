namespace Ferry.Diagnostics;

/// <summary>
/// An error the user can act on. Its message is one line that names the problem and, where there is one,
/// the way out; the CLI prints it as is, without a stack trace, and exits non-zero.
/// </summary>
public class FerryException : Exception
{
    public FerryException(string message) : base(message) { }
    public FerryException(string message, Exception inner) : base(message, inner) { }
}
