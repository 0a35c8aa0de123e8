#!/usr/bin/env bash
# Builds @NAME@.wasm, a WebAssembly component, from app.py and the WIT in wit/.
# Needs componentize-py 0.25.1 (requirements.txt): in .venv/ here, or on PATH (README.md).
set -euo pipefail
cd "$(dirname "$0")"
want="0.25.1"
if [[ -x .venv/bin/componentize-py ]]; then
  componentize=.venv/bin/componentize-py
elif command -v componentize-py >/dev/null 2>&1; then
  componentize=componentize-py
else
  echo "build: componentize-py is not installed; see README.md:" >&2
  echo "  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt" >&2
  exit 1
fi
version="$("$componentize" --version 2>/dev/null || true)"
if [[ "$version" != *" $want"* ]]; then
  echo "build: found '$version', need componentize-py $want (requirements.txt)" >&2
  exit 1
fi
# -w action: the world; app: the module whose WitWorld class implements its exports.
"$componentize" -d wit -w action componentize app -o @NAME@.wasm >/dev/null
echo "built @NAME@.wasm"
