#!/usr/bin/env bash
# Checks tests/images/oracle.py on every sample image (see check_oracle.py). Uses $PYTHON, a
# Python with Pillow (default: tests/images/.venv/bin/python if present, else python3).
set -euo pipefail
cd "$(dirname "$0")"
py=${PYTHON:-}
if [ -z "$py" ]; then
    if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
exec "$py" check_oracle.py "$@"
