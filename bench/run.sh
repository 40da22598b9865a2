#!/usr/bin/env bash
# Builds the benchmarks in Release and runs them all (or the ones named as arguments), printing their figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dotnet build "$root/bench/Ferry.Bench/Ferry.Bench.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet "$root/bench/Ferry.Bench/bin/Release/net10.0/Ferry.Bench.dll" "$@"
