#!/usr/bin/env bash
# The peer benchmark of issue 12: mcp-media against its peers, in one run, on loopback.
#
#   benches/peers/run.sh [--quick] [--only mcp-media,rmcp,...] [--out DIR]
#
# Servers: mcp-media (release binary, stdio and Streamable HTTP); an rmcp 3.x server (the
# bench crate benches/peers, stdio and HTTP, naive base64 reads, listing exactly mcp-media's
# tools, taken from mcp-media's own tools/list answer); nginx serving mcp-media's own
# pre-built answers (the HTTP ceiling); the official Python SDK server (mcp 2.x MCPServer, the
# former FastMCP, an `Image` tool; stdio and HTTP); the official filesystem server
# (@modelcontextprotocol/server-filesystem, `read_media_file`; stdio only); and a stdio
# "ceiling" server that writes pre-built answers and does no work. One Rust client drives them
# all with the legacy handshake (protocol 2025-06-18), parsing each answer's JSON and decoding
# its base64. Cases: whole-file reads at 1, 4, 16 MiB (stdio and HTTP), 8 concurrent HTTP
# clients at 16 MiB, tools/list requests/s at 1 and 50 keep-alive connections over HTTP, once
# parsed (as an MCP client) and once raw (read whole, length checked, as wrk reads).
# Medians of several runs: run with --out DIR1, DIR2, ..., then benches/peers/medians.py
# DIR1/peers.json DIR2/peers.json ...
# --quick: 1 MiB only, a few reads per case (under 2 minutes once everything is built).
#
# Installs, once (cached under $CARGO_TARGET_DIR or target/): nginx with apt-get if it is
# missing (root); a Python venv target/peers/venv with `mcp` from PyPI (~1 min); the npm package
# @modelcontextprotocol/server-filesystem into target/peers/npm (~30 s); builds
# target/release/mcp-media (~8-10 min from scratch on 2 cores) and the bench crate into
# target/peers/bench (rmcp, plotters: ~5 min from scratch).
# Time: about 2-3 minutes for --quick, 5-10 minutes for the full run (once built).
# Writes benches/results/peers.json and peers.svg (--quick: peers-quick.*) and prints ratios.
# Not a test: not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
target=${CARGO_TARGET_DIR:-$repo/target}
work=$target/peers
mkdir -p "$work"

if ! command -v nginx >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nginx >/dev/null
fi
if [ ! -x "$work/venv/bin/python" ] || ! "$work/venv/bin/python" -c 'import mcp.server.mcpserver' 2>/dev/null; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q 'mcp>=2,<3'
fi
fs_js=$work/npm/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js
if [ ! -f "$fs_js" ]; then
    npm install --silent --prefix "$work/npm" @modelcontextprotocol/server-filesystem >/dev/null
fi

cargo build --release --bin mcp-media
CARGO_TARGET_DIR=$work/bench cargo build --release --manifest-path benches/peers/Cargo.toml

exec "$work/bench/release/peers" run \
    --mcp-media "$target/release/mcp-media" \
    --python "$work/venv/bin/python" \
    --python-script "$repo/benches/peers/python_server.py" \
    --fs-server "$fs_js" \
    --work "$work/run" \
    --out "$repo/benches/results" \
    "$@"
