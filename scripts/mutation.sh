#!/usr/bin/env bash
# Mutation testing of the code whose mistakes would change a claim: attacks, stats, coordinates,
# metrics, the verdicts, the comparison with the published run, the variants and their building
# blocks (variants, predictors, permutations, size, target; whole modules), the frontier's
# methods, what sizes them and the frontier itself (innr.methods, quantise, prune, coding,
# experiments.frontier; whole modules), and the experiments' statistics
# (the functions in PATTERNS below), against the unit tests (pytest -m "not slow"; [tool.mutmut] in
# pyproject.toml). Each mutant is a one-token change (an operator, a constant, a comparison, an
# argument); a mutant that survives, or that no unit test runs, is a change to the science that
# no test notices. Slow (tens of minutes on 2 cores), so not part of CI.
#   scripts/mutation.sh            run (resumes: mutants already judged are not rerun)
#   scripts/mutation.sh --fresh    forget earlier results first
# Prints the survivors per module; `.venv/bin/mutmut show NAME` prints one mutant's diff.
set -euo pipefail
cd "$(dirname "$0")/.."
PATTERNS=(
  'innr.attacks.*' 'innr.stats.*' 'innr.coordinates.*' 'innr.metrics.*' 'innr.report.verdicts.*'
  'innr.report.decide.*' 'innr.report.compare.*'
  'innr.predictors.*' 'innr.permutations.*' 'innr.size.*' 'innr.target.*'
  'innr.variants.*' 'innr.methods.*' 'innr.quantise.*' 'innr.prune.*' 'innr.coding.*'
  'innr.experiments.frontier.*'
  'innr.experiments.common.x_aggregate*' 'innr.experiments.common.x_accuracies*'
  'innr.experiments.common.xǁContextǁcontrol_seed*' 'innr.experiments.common.xǁNetworksǁ*'
  'innr.experiments.compression.x_compression_metrics*'
  'innr.experiments.compression.x_over_seeds*'
  'innr.experiments.transfer.x_attack*' 'innr.experiments.transfer.x_metrics_of*'
  'innr.experiments.transfer.x_signs*' 'innr.experiments.transfer.x_predict*'
)
scripts/setup.sh
.venv/bin/python -m pip install -q -e '.[mutation]'
[[ ${1:-} == --fresh ]] && rm -rf mutants
mkdir -p mutants/experiments mutants/paper  # for [tool.mutmut] also_copy's files
.venv/bin/mutmut run --max-children "$(nproc)" "${PATTERNS[@]}" || true  # non-zero: survivors
.venv/bin/mutmut results --all true > mutants/results.txt
.venv/bin/python scripts/mutation_summary.py mutants/results.txt "${PATTERNS[@]}"
