#!/usr/bin/env bash
# Installs what the test suites need and a fresh machine may lack. Does nothing when present.
set -euo pipefail

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# Network isolation (`harness run --isolate`, the netns tests) needs root, strace and ip.
if [ "$(id -u)" = 0 ]; then
  command -v strace >/dev/null 2>&1 || need_apt+=(strace)
  command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need_apt+=(iproute2)
fi
if ((${#need_apt[@]})); then
  echo "ci/setup.sh: installing ${need_apt[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
echo "ci/setup.sh: node $(node --version), npm $(npm --version), $(cargo --version)"
