#!/usr/bin/env bash
# Installs embstat's dependencies on a fresh Debian 12 machine (as root), then builds it.
# Debian packages come from scripts/debian-packages.txt; the report's charting library from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2046
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $(grep -v '^#' scripts/debian-packages.txt) 2>/dev/null \
  | awk '$4 != "installed" {print $1}'; for p in $(grep -v '^#' scripts/debian-packages.txt); do
    dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $(echo "$missing" | sort -u) >/dev/null
fi
# Node.js + npm for the report's charting library; the machine's own Node.js is used when present.
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${EMBSTAT_CMAKE_ARGS:-}
cmake --build build
