# Sourced by the by-hand scripts: what a person does before running Claude Code against a local
# mock server by hand, with the same environment the harness gives it (a throw-away HOME whose
# start-up dialogs are answered, the hermetic flags, a browser that approves consent), and
# nothing of the harness itself.
#
#   CLAUDE       the claude binary (`harness install` prints where the pinned one is)
#   MOCK_SERVER  the mock-server binary (target/debug/mock-server)
set -euo pipefail
: "${CLAUDE:?set CLAUDE to a claude binary (harness install prints its path)}"
: "${MOCK_SERVER:?set MOCK_SERVER to the mock-server binary}"
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(mktemp -d "${TMPDIR:-/tmp}/by-hand-XXXXXX")
mock_pid=
cleanup() {
  if [[ -n ${tmux_socket:-} ]]; then tmux -L "${tmux_socket}" kill-server 2>/dev/null || true; fi
  if [[ -n ${mock_pid} ]]; then kill "${mock_pid}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "${root}"
}
trap cleanup EXIT
die() {
  echo "by-hand: $*" >&2
  exit 1
}
mkdir -p "${root}/home" "${root}/work" "${root}/tmp" "${root}/bin"

"${MOCK_SERVER}" --port 0 --access-log "${root}/access.jsonl" >"${root}/mock.out" 2>/dev/null &
mock_pid=$!
for _ in $(seq 1000); do
  grep -qx 'ready' "${root}/mock.out" 2>/dev/null && break
  sleep 0.005
done
grep -qx 'ready' "${root}/mock.out" || die "the mock server did not start within 5 s"
url=$(sed -n 's/^mock-server: MCP endpoint //p' "${root}/mock.out")

key=sk-ant-api03-harness-sandbox-key-0000000000000000000000000000
cat >"${root}/home/.claude.json" <<JSON
{"hasCompletedOnboarding": true, "theme": "dark",
 "customApiKeyResponses": {"approved": ["${key: -20}"], "rejected": []},
 "projects": {"${root}/work": {"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}}}
JSON
ln -s "${bench_dir}/consent-browser.sh" "${root}/bin/xdg-open"
client_env=(
  HOME="${root}/home" USER=harness PATH="${root}/bin:/usr/local/bin:/usr/bin:/bin"
  TERM=xterm-256color LANG=C.UTF-8 TMPDIR="${root}/tmp"
  BROWSER="${bench_dir}/consent-browser.sh" DISPLAY=:99
  NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
  # No model is asked for in these steps; a port nothing listens on makes sure of it.
  ANTHROPIC_BASE_URL=http://127.0.0.1:9 ANTHROPIC_API_KEY="${key}"
  DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1
  DISABLE_ERROR_REPORTING=1 DISABLE_BUG_COMMAND=1
  CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1
)
cd "${root}/work"
claude() { env -i "${client_env[@]}" "${CLAUDE}" "$@"; }

# Whether the server's log shows a tools/list sent with a bearer token.
tools_listed_with_a_token() {
  grep '"rpc_method":"tools/list"' "${root}/access.jsonl" 2>/dev/null | grep -q '"bearer":{"status":"valid"'
}
