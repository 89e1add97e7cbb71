#!/usr/bin/env bash
# Make sure latexmk, pdflatex and pdftotext are here: install Debian's packages when missing and
# running as root; otherwise say what to install and exit 1 (the figures and .tex still build).
set -uo pipefail
PACKAGES="texlive-latex-base texlive-latex-recommended texlive-fonts-recommended texlive-latex-extra latexmk poppler-utils"
if command -v latexmk >/dev/null && command -v pdflatex >/dev/null && command -v pdftotext >/dev/null; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing LaTeX from Debian packages (a few minutes, once)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq $PACKAGES >/dev/null && exit 0
  echo "error: apt-get could not install LaTeX" >&2
fi
echo "LaTeX is missing: install it with: sudo apt-get install $PACKAGES" >&2
exit 1
