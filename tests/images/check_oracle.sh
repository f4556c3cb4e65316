#!/usr/bin/env bash
# Checks tests/images/oracle.py on every sample image (see check_oracle.py). Uses $PYTHON, a
# Python with Pillow (default: the test venv tests/python/.venv/bin/python if present, else python3).
set -euo pipefail
cd "$(dirname "$0")"
py=${PYTHON:-}
if [ -z "$py" ]; then
    if [ -x ../python/.venv/bin/python ]; then py=../python/.venv/bin/python; else py=python3; fi
fi
exec "$py" check_oracle.py "$@"
