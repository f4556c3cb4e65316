#!/usr/bin/env bash
# End-to-end audio benchmark through the official Python SDK client against ffmpeg (see
# benches/audio_client.py). Builds the release binary and uses the tests' Python venv.
# Usage: benches/audio_client.sh [--runs N] [--out benches/results/audio_client.json]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=tests/python/.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r tests/python/requirements.txt
fi
cargo build --release --quiet
exec "$VENV/bin/python" benches/audio_client.py --bin target/release/mcp-media "$@"
