#!/usr/bin/env bash
# The whole reproduction: set-up, the three claims' experiments over every seed, the fit's noise,
# the ablation of INNR variants, figures, PDF.
#   ./run_all.sh                 experiments/full.toml (10 seeds; run times: README)
#   ./run_all.sh --quick         experiments/quick.toml (a few minutes)
#   ./run_all.sh --config FILE   any other config
#   --results DIR                results root (default experiments/results)
#   --out DIR                    figures, LaTeX build and PDF under DIR (default: the repo)
# Interrupted, it resumes: finished seeds and cached CNNs/INNRs are never recomputed.
set -euo pipefail
cd "$(dirname "$0")"
config=experiments/full.toml
results=()
out=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) config=experiments/quick.toml ;;
    --config) config=${2:?--config needs a file}; shift ;;
    --results) results=(--results "${2:?--results needs a directory}"); shift ;;
    --out) out=(--out "${2:?--out needs a directory}"); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see ./run_all.sh --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -f $config ]] || { echo "error: config $config not found" >&2; exit 2; }

start=$(date +%s)
scripts/setup.sh
if grep -q "fashion-mnist" "$config"; then
  scripts/install_data.sh  # Fashion-MNIST from Debian's package (as root), or says how
fi
latex_ok=1
scripts/install_latex.sh || latex_ok=0

for experiment in fidelity compression transfer fitnoise ablation; do
  echo "== $experiment ($config)"
  .venv/bin/python -m innr.experiments.$experiment --config "$config" "${results[@]}"
done
echo "== report"
status=0
.venv/bin/python -m innr.report --config "$config" "${results[@]}" "${out[@]}" || status=$?
echo "total time: $(( $(date +%s) - start )) s"
if [[ $status -ne 0 || $latex_ok -eq 0 ]]; then
  echo "the figures and the LaTeX source were written; the PDF was not built (see above)" >&2
  exit 1
fi
