using Ferry.Cli;
using Ferry.Linux;

ProcessSetup.ResetChildSignal();
return FerryCommandLine.Run(args);
