#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
# package.json) against `mcp-media serve --conformance --listen` over Streamable HTTP:
#   - --requirements 2026-07-28 and --requirements 2025-11-25: every scored scenario must pass;
#   - --suite all: pending and extension scenarios too, against baseline.yml (the ones not yet
#     built); a failure not in the baseline fails the run.
# Needs npm (any version) to install the suite and Node >= 22 to run it (see tests/node.sh).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${MCP_MEDIA_BIN:-$ROOT/target/debug/mcp-media}"
OUT="${CONFORMANCE_OUT:-$ROOT/target/conformance}"

source "$ROOT/tests/node.sh"
echo "conformance: node $("$NODE" --version)"
SUITE="$CONFORMANCE_SUITE"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" serve --conformance --listen "127.0.0.1:$PORT" "$ROOT/samples" 2>"$OUT.server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null && break
    sleep 0.1
done
URL="http://127.0.0.1:$PORT/mcp"
mkdir -p "$OUT"
status=0
for req in 2026-07-28 2025-11-25; do
    echo "== conformance --requirements $req"
    if ! "$NODE" "$SUITE" server --url "$URL" --requirements "$req" -o "$OUT/$req" >"$OUT/$req.log" 2>&1; then
        status=1
    fi
    grep -E '^(✓|✗)|^Total|scenario\(s\)' "$OUT/$req.log" | sed 's/^Total: /  checks in all scenarios: /' || tail -20 "$OUT/$req.log"
done
echo "== conformance --suite all (baseline: tests/conformance/baseline.yml)"
if ! "$NODE" "$SUITE" server --url "$URL" --suite all --expected-failures "$HERE/baseline.yml" -o "$OUT/all" >"$OUT/all.log" 2>&1; then
    status=1
fi
grep -E '^(✓|✗)|^Total|xpected|^  [~✗✓] ' "$OUT/all.log" | sed 's/^Total: /  checks in all scenarios: /' || tail -20 "$OUT/all.log"
if [ "$status" -ne 0 ]; then
    echo "conformance: FAILED (logs in $OUT)"
else
    scored=0
    for req in 2026-07-28 2025-11-25; do
        awk -v r="$req" '/^=== SUMMARY ===/{on=1} on&&/^✓/{p++} on&&/^✗/{f++} END{printf "conformance %s: %d scenarios fully passing, %d with failures (unscored: tasks extension, pending)\n", r, p, f}' "$OUT/$req.log"
    done
    echo "conformance: all scored scenarios passed"
fi
exit "$status"
