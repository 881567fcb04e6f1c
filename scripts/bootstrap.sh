#!/usr/bin/env bash
# Creates .venv and installs nianbao with what it needs to run.
#   --dev     also the test tools (pytest, hypothesis, playwright, schemathesis, ruff)
#   --system  also the Debian packages the tests use (Chromium for browser tests, Tesseract + poppler for
#             OCR, catdoc for .doc; wrk, the load benchmark's client), installed with apt-get when running as
#             root and missing
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
system=0
for arg in "$@"; do
    case $arg in
        --dev) dev=1 ;;
        --system) system=1 ;;
        *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
    esac
done

if ((system)); then
    missing=()
    command -v chromium >/dev/null || missing+=(chromium fonts-noto-cjk)
    command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-chi-sim)
    command -v pdftoppm >/dev/null || missing+=(poppler-utils)
    command -v catdoc >/dev/null || missing+=(catdoc)
    command -v wrk >/dev/null || missing+=(wrk)
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
target=. stamp=.venv/.nianbao-installed
if ((dev)); then
    target=.[dev] stamp=.venv/.nianbao-installed-dev
fi
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "bootstrap: installing nianbao ($target) into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target"
    touch "$stamp"
fi
