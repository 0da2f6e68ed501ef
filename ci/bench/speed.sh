#!/usr/bin/env bash
# What the harness costs beyond the client itself: `harness run --scenario S` against the same
# client driven through the same steps by hand (ci/bench/by-hand-S.sh), run in turn (A B A B …)
# so that a drift in the machine's speed reaches both; the figure is the median of the pairwise
# ratios of wall time, with CPU time beside it. It measures and never judges: the README quotes
# its figures, no test asserts them.
#
#   ci/bench/speed.sh [-n ROUNDS] [SCENARIO ...]   (default: 7 rounds of login_then_list, slash_mcp)
#   make bench                                     (the same, through the Makefile)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=7
if [[ ${1:-} == -n ]]; then
  rounds=$2
  shift 2
fi
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(login_then_list slash_mcp)
for s in "${scenarios[@]}"; do
  [[ -x ci/bench/by-hand-${s}.sh ]] || {
    echo "speed.sh: no by-hand yardstick for ${s} (ci/bench/by-hand-${s}.sh); have: $(ls ci/bench | sed -n 's/^by-hand-\(.*\)\.sh$/\1/p' | grep -v common | tr '\n' ' ')" >&2
    exit 2
  }
done
command -v /usr/bin/time >/dev/null || { echo "speed.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

cargo build -q -p harness -p mock-server
harness=target/debug/harness
CLAUDE=$("${harness}" install | awk '{print $NF}')
export CLAUDE MOCK_SERVER=target/debug/mock-server
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

# One timed run: its wall and CPU seconds on one line; a failed run stops the benchmark.
timed() {
  local out=${work}/time
  if ! /usr/bin/time -f '%e %U %S' -o "${out}" "$@" >"${work}/log" 2>&1; then
    echo "speed.sh: this run failed, so its time means nothing: $*" >&2
    tail -n 20 "${work}/log" >&2
    exit 1
  fi
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "${out}"
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "speed.sh: $(date -u +%Y-%m-%d), $(nproc) cores, ${rounds} pairs each, Claude Code $("${harness}" install | awk '{print $1}')"
printf '%-18s %14s %14s %12s %12s\n' scenario "harness (s)" "by hand (s)" "wall ratio" "cpu ratio"
for s in "${scenarios[@]}"; do
  # One warm-up of each: the first start of a binary pays for the page cache.
  timed "${harness}" run --scenario "${s}" >/dev/null
  timed bash "ci/bench/by-hand-${s}.sh" >/dev/null
  : >"${work}/pairs"
  for ((i = 1; i <= rounds; i++)); do
    a_run=$(timed "${harness}" run --scenario "${s}")
    b_run=$(timed bash "ci/bench/by-hand-${s}.sh")
    read -r a_wall a_cpu <<<"${a_run}"
    read -r b_wall b_cpu <<<"${b_run}"
    echo "${a_wall} ${b_wall} ${a_cpu} ${b_cpu}" >>"${work}/pairs"
    echo "speed.sh: ${s} pair ${i}/${rounds}: harness ${a_wall} s, by hand ${b_wall} s" >&2
  done
  a=$(awk '{print $1}' "${work}/pairs" | median)
  b=$(awk '{print $2}' "${work}/pairs" | median)
  wall=$(awk '{print $1 / $2}' "${work}/pairs" | median)
  cpu=$(awk '$4 > 0 {print $3 / $4}' "${work}/pairs" | median)
  lo=$(awk '{print $1 / $2}' "${work}/pairs" | sort -g | head -n 1)
  hi=$(awk '{print $1 / $2}' "${work}/pairs" | sort -g | tail -n 1)
  printf '%-18s %14.2f %14.2f %7.2f× (%.2f–%.2f) %7.2f×\n' "${s}" "${a}" "${b}" "${wall}" "${lo}" "${hi}" "${cpu}"
done
