#!/usr/bin/env bash
# Builds @NAME@.wasm, a WebAssembly component, from app.js and the WIT in wit/.
# Uses componentize-js 0.23.0 from PATH when it is there (no network); otherwise installs it
# into node_modules/ with npm (package.json) and uses that.
set -euo pipefail
cd "$(dirname "$0")"
want="0.23.0"
if command -v componentize-js >/dev/null 2>&1 && [[ "$(componentize-js --version 2>/dev/null)" == "$want" ]]; then
  componentize=componentize-js
else
  if [[ ! -x node_modules/.bin/componentize-js ]]; then
    command -v npm >/dev/null 2>&1 || { echo "build: needs Node.js and npm (README.md)" >&2; exit 1; }
    if [[ -f package-lock.json ]]; then
      npm ci --no-audit --no-fund --loglevel=error
    else
      npm install --no-audit --no-fund --loglevel=error
    fi
  fi
  componentize=node_modules/.bin/componentize-js
fi
# -n action: the world. -d http fetch-event: without them the component would import and
# export wasi:http handlers of its own, which Palisade refuses; outbound HTTP is the world's.
"$componentize" app.js --wit wit -n action -d http fetch-event -o @NAME@.wasm >/dev/null
echo "built @NAME@.wasm"
