#!/usr/bin/env bash
# Makes sure a Docker engine answers, for the container-mode tests. Does nothing when one already
# does. Otherwise installs Debian's docker.io when dockerd is missing and starts dockerd in the
# background by hand (these machines have no systemd), then waits for it, bounded.
#
#   DOCKERD_LOG      where dockerd's output goes (default /tmp/mcp-reconnect-dockerd.log)
#   DOCKER_WAIT_SECS how long to wait for the engine to answer (default 60)
set -euo pipefail

log_file=${DOCKERD_LOG:-/tmp/mcp-reconnect-dockerd.log}
wait_secs=${DOCKER_WAIT_SECS:-60}

say() { echo "ci/docker.sh: $*"; }
die() {
  echo "ci/docker.sh: error: $*" >&2
  exit 1
}

# `docker version` exits non-zero when the client cannot reach a server; bounded per call so a
# wedged socket cannot hang CI.
engine_answers() {
  command -v docker >/dev/null 2>&1 &&
    timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if engine_answers; then
  say "a Docker engine answers already: server $(docker version --format '{{.Server.Version}}'), client $(docker version --format '{{.Client.Version}}')"
  exit 0
fi

if [[ -n ${DOCKER_HOST:-} && ${DOCKER_HOST} != unix:///var/run/docker.sock ]]; then
  die "DOCKER_HOST=${DOCKER_HOST} does not answer; this script only starts a local engine. Unset DOCKER_HOST or start that engine."
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  ((EUID == 0)) || die "no Docker engine answers and installing one needs root (apt-get install docker.io)"
  command -v apt-get >/dev/null 2>&1 || die "no Docker engine answers and there is no apt-get to install docker.io with; install a Docker engine by hand"
  say "installing docker.io from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends docker.io
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  ((EUID == 0)) || die "dockerd is installed but not running, and starting it needs root"
  say "starting dockerd in the background (log: ${log_file})"
  # setsid: its own session, so a Ctrl-C to this run (or make's process group) does not stop the
  # engine other runs may already use.
  setsid dockerd >"${log_file}" 2>&1 </dev/null &
  dockerd_pid=$!
else
  # Another run started it a moment ago and it is still coming up; wait for that one.
  dockerd_pid=
  say "dockerd is running but not answering yet; waiting for it"
fi

deadline=$((SECONDS + wait_secs))
until engine_answers; do
  if [[ -n ${dockerd_pid} ]] && ! kill -0 "${dockerd_pid}" 2>/dev/null; then
    # Lost a race with another run starting its own dockerd? Then that one may answer.
    engine_answers && break
    echo "--- last lines of ${log_file}:" >&2
    tail -n 20 "${log_file}" >&2 || true
    die "dockerd exited before answering (see ${log_file})"
  fi
  if ((SECONDS >= deadline)); then
    echo "--- last lines of ${log_file}:" >&2
    tail -n 20 "${log_file}" >&2 || true
    die "no Docker engine answered within ${wait_secs} s (see ${log_file})"
  fi
  sleep 0.5
done
say "Docker engine up: server $(docker version --format '{{.Server.Version}}')"
