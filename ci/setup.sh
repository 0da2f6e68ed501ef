#!/usr/bin/env bash
# Installs what the test suites need and a fresh machine may lack. Does nothing when present.
set -euo pipefail

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if ((${#need_apt[@]})); then
  echo "ci/setup.sh: installing ${need_apt[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
echo "ci/setup.sh: node $(node --version), npm $(npm --version), $(cargo --version)"
