#!/usr/bin/env bash
# Start or resume the next publication's run (experiments/next/README.md) in the background:
# the code of experiments/next/RUN_COMMIT, checked out in a worktree of its own (WORKTREE,
# default ../innr-run), writing into this checkout's experiments/next/results (finished work is
# kept). Log: experiments/next/results/run.log. Stop it with: pkill -f run_all.sh; pkill -f innr.experiments
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[[ -f experiments/next/RUN_COMMIT ]] || {
  echo "error: no run in progress (experiments/next/RUN_COMMIT is absent: the last one is published)" >&2
  exit 2; }
commit=$(cat experiments/next/RUN_COMMIT)
tree=${WORKTREE:-$(dirname "$repo")/innr-run}
if pgrep -f "innr.experiments" > /dev/null; then
  echo "error: an experiment is already running (pgrep -f innr.experiments); stop it first" >&2
  exit 1
fi
if [[ ! -d $tree ]]; then
  git worktree add --detach "$tree" "$commit"
fi
[[ $(git -C "$tree" rev-parse HEAD) == "$commit" ]] || {
  echo "error: $tree is not at RUN_COMMIT $commit; remove it (git worktree remove $tree)" >&2
  exit 1; }
scripts/setup.sh > /dev/null
[[ -e $tree/.venv ]] || ln -s "$repo/.venv" "$tree/.venv"  # the same packages; its own src first
mkdir -p experiments/next/results
cd "$tree"
PYTHONPATH="$tree/src" nohup ./run_all.sh --config experiments/next/full.toml \
  --results "$repo/experiments/next/results" >> "$repo/experiments/next/results/run.log" 2>&1 &
echo "started (pid $!) from $commit in $tree; log: experiments/next/results/run.log"
