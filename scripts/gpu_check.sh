#!/usr/bin/env bash
# The GPU check, in one command (about 8 minutes on one GPU): the quick configuration on CUDA,
# the benchmark on CUDA, and one seed of the full configuration's claims on CUDA compared with
# the published CPU run (python -m innr.report.compare).
#   scripts/gpu_check.sh [RESULTS]   results root (default experiments/results/cuda): a folder
#                                    of its own, since CPU and GPU results never mix
# Environment: PYTHON (default .venv/bin/python), SEEDS (full-config seeds; default 1239).
# Exit codes: 0 every step ran, no number lies outside its tolerance of the published run
# (criteria.toml's [reproduction]) and no verdict the run decides differs; 1 a step failed or
# the comparison says otherwise (listed above it); 2 no Python; 3 no CUDA GPU (then nothing is run).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
results=${1:-experiments/results/cuda}
seeds=${SEEDS:-1239}
budget=480  # seconds: the whole check

# before anything else: is there a GPU torch can use?
command -v "$py" >/dev/null || { echo "error: no Python at $py: run scripts/setup.sh or set PYTHON"
                                 exit 2; }
if ! gpu=$("$py" -c "import sys, torch
ok = torch.cuda.is_available()
print(torch.cuda.get_device_name(0) if ok else f'torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device')
sys.exit(0 if ok else 3)" 2>&1); then
  echo "no GPU: ${gpu##*$'\n'}; nothing was run (exit 3)"
  exit 3
fi
echo "GPU: $gpu; results under $results"

step() {  # a titled step, stopped when the budget is spent
  local title=$1 left=$((budget - SECONDS)) code=0
  shift
  ((left > 0)) || { echo "GPU check: out of time ($budget s) before $title"; exit 1; }
  echo "== $title ($left s left)"
  timeout "$left" "$@" || code=$?
  ((code == 0)) || { echo "GPU check: $title failed (exit $code; 124: out of time)"; exit 1; }
}
for experiment in fidelity compression transfer fitnoise ablation frontier; do
  step "quick: $experiment" "$py" -m "innr.experiments.$experiment" \
    --config experiments/quick.toml --results "$results"
done
step "benchmark" "$py" -m innr.bench --skip-reproduction --repeats 3 --out "$results/bench.json"
# shellcheck disable=SC2086  # SEEDS is a list of words
for experiment in fidelity compression transfer; do
  step "full, seeds $seeds: $experiment" "$py" -m "innr.experiments.$experiment" \
    --config experiments/full.toml --results "$results" --seeds $seeds
done
echo "== compared with the published CPU run"
status=0
"$py" -m innr.report.compare --config experiments/full.toml --results "$results" \
  --json "$results/compare.json" || status=$?
[[ $status -le 1 ]] || { echo "GPU check: the comparison could not be made (exit $status)"; exit 1; }
# One seed cannot show a number reproduced (its interval is "not shown") nor decide a verdict
# ("inconclusive"); it can show a number outside its tolerance, or a verdict turned round.
"$py" - "$results/compare.json" "$SECONDS" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
outside = c["counts"]["not reproduced"]
turned = [v["about"] for v in c["verdicts"] if v["fresh"] not in (None, "inconclusive")
          and v["fresh"] != v["published"]]
print(f"GPU check ({sys.argv[2]} s): {outside} numbers outside their tolerance of the published "
      f"CPU run; verdicts turned round: {', '.join(turned) or 'none'}")
sys.exit(1 if outside or turned else 0)
EOF
