#!/usr/bin/env bash
# The nightly matrix, in steps the workflow (.github/workflows/nightly.yml) and `make nightly`
# share. Logic lives here and in the harness, not in the workflow.
#
#   ci/nightly.sh shard K N     run the K-th of N slices      -> $OUT/shard-K.json
#   ci/nightly.sh merge         join the shards, compare with $BASELINE (when it exists),
#                               write every report form       -> $OUT/matrix.{json,md,xml,html}
#   ci/nightly.sh all           every shard on this machine, then merge (make nightly)
#
# Settings (environment): NIGHTLY_CLIENTS (default all: every client `harness clients` lists),
# NIGHTLY_LAST (each client's newest versions, default 3), NIGHTLY_CLAUDE_LAST (Claude Code's,
# default 10: the first client, with the longest history of regressions), NIGHTLY_VERSIONS (pins
# them instead: space-separated `--versions` values, `CLIENT=LIST` each), NIGHTLY_SCENARIOS (default core;
# core,discovery adds every discovery variant through every login path),
# NIGHTLY_JOBS (-j, default 2), NIGHTLY_REPEAT (default 2), OUT (default target/nightly),
# BASELINE (default $OUT/baseline/matrix.json), HARNESS (the harness command).
set -euo pipefail

CLIENTS=${NIGHTLY_CLIENTS:-all}
LAST=${NIGHTLY_LAST:-3}
CLAUDE_LAST=${NIGHTLY_CLAUDE_LAST:-10}
SCENARIOS=${NIGHTLY_SCENARIOS:-core}
JOBS=${NIGHTLY_JOBS:-2}
REPEAT=${NIGHTLY_REPEAT:-2}
OUT=${OUT:-target/nightly}
BASELINE=${BASELINE:-$OUT/baseline/matrix.json}
HARNESS=${HARNESS:-cargo run -q -p harness --}
mkdir -p "$OUT"

shard() {
  local k=$1 n=$2
  # Every shard must pick the same versions: the listing is fetched once per run and cached in
  # the store; NIGHTLY_VERSIONS pins them when set.
  local pick=(--last "$LAST")
  if [[ $CLIENTS == all || ,$CLIENTS, == *,claude-code,* ]]; then pick+=(--last "claude-code=$CLAUDE_LAST"); fi
  if [[ -n ${NIGHTLY_VERSIONS:-} ]]; then
    pick=()
    for v in $NIGHTLY_VERSIONS; do pick+=(--versions "$v"); done
  fi
  # Exit 1 (a failing cell) is the report's business, not the shard's.
  $HARNESS matrix --client "$CLIENTS" "${pick[@]}" --scenarios "$SCENARIOS" -j "$JOBS" --repeat "$REPEAT" \
    --shard "$k/$n" --json "$OUT/shard-$k.json" || [[ $? == 1 ]]
}

merge() {
  local base=()
  if [[ -f $BASELINE ]]; then base=(--baseline "$BASELINE"); else echo "nightly: no baseline at $BASELINE; first run" >&2; fi
  # Exit status 1: something regressed against the baseline.
  $HARNESS report merge "$OUT"/shard-*.json --out "$OUT/matrix.json" "${base[@]}" \
    --markdown "$OUT/matrix.md" --junit "$OUT/matrix.xml" --html "$OUT/matrix.html"
}

case ${1:-all} in
  shard) shard "$2" "$3" ;;
  merge) merge ;;
  all)
    n=${NIGHTLY_SHARDS:-1}
    rm -f "$OUT"/shard-*.json
    for ((k = 1; k <= n; k++)); do shard "$k" "$n"; done
    merge
    ;;
  *) echo "usage: $0 shard K N | merge | all" >&2; exit 2 ;;
esac
