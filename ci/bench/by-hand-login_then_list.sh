#!/usr/bin/env bash
# `login_then_list` by hand, the yardstick of `harness run --scenario login_then_list`: the same
# four client commands against a local mock server, with nothing of the harness in between.
#   mcp add → mcp list → mcp login (under a terminal: it refuses to run without one; the browser
#   approves consent) → mcp list, which must then report the server connected.
source "$(dirname "$0")/by-hand-common.sh"

claude mcp add --transport http -s user mock "${url}" >/dev/null
claude mcp list >/dev/null
# script(1) gives `mcp login` a terminal; its own input stays empty.
script -qefc "$(printf '%q ' env -i "${client_env[@]}" "${CLAUDE}" mcp login mock)" /dev/null \
  </dev/null >"${root}/login.out" || die "mcp login failed: $(tr -d '\r' <"${root}/login.out" | tail -n 3)"
listing=$(claude mcp list)
grep -q 'mock.*Connected' <<<"${listing}" || die "mcp list after the login did not report mock connected: ${listing}"
