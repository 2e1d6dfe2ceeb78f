#!/usr/bin/env bash
# Create .venv and install SalesPulse with its dev tools; reruns only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11+ is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    # Debian's system Python keeps venv in a separate package.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q -y install python3-venv
      "$PYTHON" -m venv .venv
    else
      echo "bootstrap: '$PYTHON -m venv' failed: install python3-venv" >&2
      exit 2
    fi
  fi
fi
stamp=.venv/.installed-$(cat pyproject.toml setup.py schemas/native/scan.c streams/native/batches.c | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv ..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
