#!/usr/bin/env bash
# Installs what Ferry's build, demo and tests need on a fresh Debian 12 machine (idempotent, quiet when done).
set -euo pipefail
packages=(gcc make libc6-dev zlib1g-dev criu python3 iproute2 iptables nftables procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required on PATH" >&2; exit 1; }
