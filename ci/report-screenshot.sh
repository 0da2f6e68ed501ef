#!/usr/bin/env bash
# Opens a matrix HTML page in Debian's headless chromium: dumps the DOM (the grid must be there,
# with a cell per verdict it claims) and takes two screenshots, the grid and the first failing
# (else first) cell's detail opened through its #fragment. The two must differ: the detail opened.
# Not part of `make test` (needs chromium: apt-get install -y chromium).
set -euo pipefail
page=$(realpath "${1:?usage: $0 PAGE.html [OUTDIR]}")
out=${2:-$(dirname "$page")}
mkdir -p "$out"
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then echo "report-screenshot: no chromium (apt-get install -y chromium)" >&2; exit 2; fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1200,900)

dom=$("$browser" "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)
grep -q '<table class="grid">' <<<"$dom" || { echo "report-screenshot: no grid in the rendered page" >&2; exit 1; }
cells=$(grep -o 'data-verdict="[a-z]*"' <<<"$dom" | sort | uniq -c | tr -s ' ' | paste -sd, -)
echo "report-screenshot: grid rendered; cells by verdict:$cells"
cell=$(grep -o '<td class="cell fail"[^>]*><a href="#[^"]*"' <<<"$dom" | head -1 | sed 's/.*href="#//; s/"$//')
if [[ -z $cell ]]; then cell=$(grep -o 'href="#cell-[^"]*"' <<<"$dom" | head -1 | sed 's/href="#//; s/"$//'); fi

"$browser" "${flags[@]}" --screenshot="$out/grid.png" "file://$page" 2>/dev/null
"$browser" "${flags[@]}" --screenshot="$out/detail.png" "file://$page#$cell" 2>/dev/null
for f in grid detail; do
  [[ -s $out/$f.png ]] || { echo "report-screenshot: no $f.png" >&2; exit 1; }
done
if cmp -s "$out/grid.png" "$out/detail.png"; then
  echo "report-screenshot: the detail of $cell did not open (the screenshots are identical)" >&2
  exit 1
fi
echo "report-screenshot: $out/grid.png and $out/detail.png (#$cell opened its detail)"
