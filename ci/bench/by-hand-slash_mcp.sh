#!/usr/bin/env bash
# `slash_mcp` by hand, the yardstick of `harness run --scenario slash_mcp`: a person's steps in
# one interactive session against a local mock server, under tmux, with nothing of the harness:
#   mcp add → start the session → /mcp → the server → Authenticate → (the browser approves) →
#   the client says it is signed in and the same session lists the tools with the new token.
source "$(dirname "$0")/by-hand-common.sh"
command -v tmux >/dev/null || die "needs tmux (apt-get install tmux)"

claude mcp add --transport http -s user mock "${url}" >/dev/null

tmux_socket="by-hand-$$"
tmux -L "${tmux_socket}" -f /dev/null new-session -d -x 200 -y 50 \
  "exec $(printf '%q ' env -i "${client_env[@]}" "${CLAUDE}")"
screen() { tmux -L "${tmux_socket}" capture-pane -p 2>/dev/null || true; }
keys() { tmux -L "${tmux_socket}" send-keys "$@"; }
# Looks at the screen every 10 ms, as long as a person would wait (at most `secs`).
wait_screen() {
  local what=$1 pattern=$2 secs=${3:-30}
  local until=$((SECONDS + secs))
  while ((SECONDS <= until)); do
    screen | grep -qiE "${pattern}" && return 0
    sleep 0.01
  done
  return 1
}
selected_line() { screen | grep '❯' | grep -v '❯ /' | head -n 1; }
# Moves the menu's pointer down until it sits on a line matching `pattern` (a menu is short).
select_line() {
  for _ in $(seq 12); do
    selected_line | grep -q "$1" && return 0
    keys Down
    sleep 0.05
  done
}

wait_screen "the first screen" 'Claude Code' || die "no first screen: $(screen)"
# Keys typed before the prompt is ready are lost: type again until the menu opens.
opened=
for _ in 1 2 3 4; do
  keys -l '/mcp'
  wait_screen "/mcp in the prompt" '/mcp' 10 || continue
  keys Enter
  if wait_screen "the server menu" 'mock.*(needs auth|needs sign-in)' 5; then
    opened=1
    break
  fi
  keys Escape C-u
done
[[ -n ${opened} ]] || die "the /mcp menu did not open: $(screen)"
select_line 'mock'
keys Enter
wait_screen "the server's menu" 'Authenticate' 10 || die "no Authenticate entry: $(screen)"
select_line 'Authenticate'
keys Enter
wait_screen "the sign-in result" 'signed in and connected|authentication successful|authenticated with|successfully authenticated' 60 ||
  die "the client did not report signing in: $(screen)"
until=$((SECONDS + 20))
until tools_listed_with_a_token; do
  ((SECONDS <= until)) || die "the session never listed tools with the new token"
  sleep 0.01
done
