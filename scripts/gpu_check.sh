#!/usr/bin/env bash
# The GPU check, in one command (about 8 minutes on one GPU): one seed of the full configuration's
# claims on CUDA compared with the published CPU run (python -m innr.report.compare), the
# benchmark on CUDA, and the quick configuration on CUDA. The claims' seed comes first: a lent GPU
# is a short lease, and what the time limit cuts is then the smoke test. A failed step does not
# stop the others (one lease, one try); the failures are listed at the end.
#   scripts/gpu_check.sh [RESULTS]   results root (default experiments/results/cuda): a folder
#                                    of its own, since CPU and GPU results never mix
# Environment: PYTHON (default .venv/bin/python), SEEDS (full-config seeds; default 1239),
# BUDGET (seconds for the whole check; default 480).
# Exit codes: 0 every step ran, every seed's fidelity numbers lie within the fit's draw-to-draw
# noise of the published CPU seed's (python -m innr.report.drawnoise) and no verdict the seeds
# decide differs from the published one; 1 a step failed or ran out of time, or the comparison
# says otherwise (listed at the end); 2 no Python; 3 no CUDA GPU (then nothing is run).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
results=${1:-experiments/results/cuda}
seeds=${SEEDS:-1239}
budget=${BUDGET:-480}  # seconds: the whole check

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

failed=()
step() {  # a titled step, given what is left of the budget; a failure is noted, not fatal
  local title=$1 left=$((budget - SECONDS)) code=0
  shift
  if ((left <= 0)); then
    echo "== $title: not run, out of time ($budget s)"
    failed+=("$title (out of time)")
    return 1
  fi
  echo "== $title ($left s left)"
  timeout "$left" "$@" || code=$?
  ((code == 0)) && return 0
  echo "GPU check: $title failed (exit $code; 124: out of time)"
  failed+=("$title (exit $code)")
  return 1
}

compare() {  # the claims' seeds against the published CPU run
  local shown=0 status=0
  # Every number and verdict, shown; a seed or two can show a number "not reproduced" by
  # tolerances sized for ten-seed means, and cannot decide a verdict ("inconclusive"), but a
  # verdict it decides must not turn round.
  "$py" -m innr.report.compare --config experiments/full.toml --results "$results" \
    --json "$results/compare.json" || shown=$?
  ((shown <= 1)) || { echo "the comparison could not be made (exit $shown)"; return 1; }
  "$py" - "$results/compare.json" <<'EOF' || status=1
import json, sys
c = json.load(open(sys.argv[1]))
turned = [v["about"] for v in c["verdicts"] if v["fresh"] not in (None, "inconclusive")
          and v["fresh"] != v["published"]]
print(f"verdicts turned round: {', '.join(turned) or 'none'}")
sys.exit(1 if turned else 0)
EOF
  # The numbers: on another build a seed is a new draw of the fit, so each seed's difference
  # from the published seed is held to the fit's draw-to-draw spread (its fit-noise study).
  "$py" -m innr.report.drawnoise --config experiments/full.toml --results "$results" \
    || status=1
  return "$status"
}

claims=ok
for experiment in fidelity compression transfer; do
  # shellcheck disable=SC2086  # SEEDS is a list of words
  step "full, seeds $seeds: $experiment" "$py" -m "innr.experiments.$experiment" \
    --config experiments/full.toml --results "$results" --seeds $seeds || claims=failed
done
if [[ $claims == ok ]]; then
  echo "== full, seeds $seeds: compared with the published CPU run"
  compare || failed+=("the comparison with the published CPU run")
fi
step "benchmark" "$py" -m innr.bench --skip-reproduction --repeats 3 --out "$results/bench.json" \
  || true
for experiment in fidelity compression transfer fitnoise ablation frontier; do
  step "quick: $experiment" "$py" -m "innr.experiments.$experiment" \
    --config experiments/quick.toml --results "$results" || true
done

if ((${#failed[@]})); then
  echo "GPU check ($SECONDS s), failed: $(printf '%s; ' "${failed[@]}")"
  exit 1
fi
echo "GPU check ($SECONDS s): every step ran; no seed differs from the published CPU run by more"
echo "than 3 draw spreads of the fit (a bound on the difference, not a test of equality)"
