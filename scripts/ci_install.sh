#!/usr/bin/env bash
# Installs the Debian packages named in a list file (one a line, '#' comments) that are not
# installed yet: bash scripts/ci_install.sh scripts/ci-packages.txt. Root or sudo.
set -euo pipefail
list=${1:?usage: ci_install.sh PACKAGE-LIST}
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
missing=""
for p in $(grep -v '^#' "$list"); do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
