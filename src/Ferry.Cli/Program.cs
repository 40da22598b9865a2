using System.CommandLine;
using Ferry.Cli;
using Ferry.Linux;

ProcessSetup.ResetChildSignal();
return FerryCommandLine.Build().Parse(args).Invoke();
