#!/usr/bin/env bash
# Builds everything once: the solution (JIT, for tests), the NativeAOT `ferry` binary into out/, and the C test programs.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Ferry.slnx -c Release -v quiet -nologo
dotnet publish src/Ferry.Cli/Ferry.Cli.csproj -c Release -o out -v quiet -nologo
make -s -C tests/targets
