#!/usr/bin/env bash
# Creates .venv and installs nianbao with everything it needs. With --system, also the Debian
# packages the tests use (Chromium for browser tests, Tesseract + poppler for OCR, catdoc for .doc),
# installed with apt-get when running as root and missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--system" ]]; then
    missing=()
    command -v chromium >/dev/null || missing+=(chromium fonts-noto-cjk)
    command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-chi-sim)
    command -v pdftoppm >/dev/null || missing+=(poppler-utils)
    command -v catdoc >/dev/null || missing+=(catdoc)
    if ((${#missing[@]})); then
        if [[ $(id -u) == 0 ]]; then
            echo "bootstrap: installing system packages: ${missing[*]}"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq >/dev/null
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        else
            echo "bootstrap: not root; tests needing ${missing[*]} will be skipped" >&2
        fi
    fi
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.nianbao-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi
