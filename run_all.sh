#!/usr/bin/env bash
# The whole reproduction: set-up, the three claims' experiments over every seed, the fit's noise,
# the ablation of INNR variants, the compression frontier (and, for each companion config named
# by [frontier] companions and found beside it, e.g. Fashion-MNIST: its claims and frontier), the comparison with
# the published run (experiments/published/), figures, PDF. A config that lists `experiments`
# runs those, in that order, instead (python -m innr.experiments.NAME).
#   ./run_all.sh                 experiments/full.toml (10 seeds; run times: README)
#   ./run_all.sh --quick         experiments/quick.toml (a few minutes)
#   ./run_all.sh --config FILE   any other config
#   --only PART                  claims, ablation, frontier, headline, datatrack or report
#                                (repeatable; default: all)
#   --results DIR                results root (default experiments/results)
#   --out DIR                    figures, LaTeX build and PDF under DIR (default: the repo)
# Interrupted, it resumes: finished seeds, points and cached CNNs/INNRs are never recomputed.
set -euo pipefail
cd "$(dirname "$0")"
config=experiments/full.toml
results=()
out=()
only=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) config=experiments/quick.toml ;;
    --config) config=${2:?--config needs a file}; shift ;;
    --results) results=(--results "${2:?--results needs a directory}"); shift ;;
    --out) out=(--out "${2:?--out needs a directory}"); shift ;;
    --only)
      case ${2:-} in
        claims|ablation|frontier|headline|datatrack|report) only+=("$2") ;;
        *) echo "error: --only takes claims, ablation, frontier, headline, datatrack or report," \
                "got '${2:-}'" >&2
           exit 2 ;;
      esac
      shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see ./run_all.sh --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -f $config ]] || { echo "error: config $config not found" >&2; exit 2; }

[[ ${#only[@]} -gt 0 ]] || only=(claims ablation frontier headline datatrack report)
wants() { [[ " ${only[*]} " == *" $1 "* ]]; }

start=$(date +%s)
scripts/setup.sh
companions=$(.venv/bin/python -c "import sys; from innr.config import load_config
print(' '.join(load_config(sys.argv[1]).frontier.companions))" "$config")
configs=("$config")
for name in $companions; do  # beside the config, as innr.report.release and the report find them
  companion=$(dirname "$config")/$name.toml
  [[ -f $companion ]] || { echo "error: companion $companion not found" >&2; exit 2; }
  configs+=("$companion")
done
# the Debian packages of the configs' datasets not installed yet (e.g. Fashion-MNIST's), as root
packages=$(.venv/bin/python -m innr.datasets "${configs[@]}")
scripts/install_data.sh $packages  # one word each
latex_ok=1
if wants report; then scripts/install_latex.sh || latex_ok=0; fi

run() {  # one experiment of one config
  echo "== $1 ($2)"
  .venv/bin/python -m "innr.experiments.$1" --config "$2" "${results[@]}"
}
part() {  # the --only part an experiment belongs to
  case $1 in fidelity|compression|transfer|fitnoise) echo claims ;; *) echo "$1" ;; esac
}
for c in "${configs[@]}"; do
  main=$([[ $c == "$config" ]] && echo 1 || echo 0)
  experiments=$(.venv/bin/python -c "import sys; from innr.config import experiments_of, load_config
print(' '.join(experiments_of(load_config(sys.argv[1]), sys.argv[2] == '1')))" "$c" $main)
  for experiment in $experiments; do
    if wants "$(part "$experiment")"; then run "$experiment" "$c"; fi
  done
done
if wants report; then  # the run against the published one (the PDF has it too); a miss is news,
  echo "== compared with the published run"  # not a failure of the run
  compared=0
  .venv/bin/python -m innr.report.compare --config "$config" "${results[@]}" --if-published \
    || compared=$?
  case $compared in  # innr.report.compare's exit codes
    0) ;;
    1) echo "(some published numbers were not shown reproduced, or a verdict changed: listed above and in the PDF)" ;;
    *) echo "(the comparison could not be made: see the error above)" ;;
  esac
fi
status=0
if wants report; then
  echo "== report"
  .venv/bin/python -m innr.report --config "$config" "${results[@]}" "${out[@]}" || status=$?
fi
echo "total time: $(( $(date +%s) - start )) s"
if [[ $status -ne 0 || $latex_ok -eq 0 ]]; then
  echo "the figures and the LaTeX source were written; the PDF was not built (see above)" >&2
  exit 1
fi
