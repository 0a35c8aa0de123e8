#!/usr/bin/env bash
# Builds @NAME@.wasm, a WebAssembly component, from plugin.c and the WIT in wit/:
# wit-bindgen generates the C bindings into gen/ (regenerated on every build, so they follow
# wit/); clang-19 compiles them and plugin.c to a WASI preview1 reactor module; wasm-tools
# wraps it in a component with the preview1 adapter in this folder, which comes from the
# wasmtime release Palisade runs plugins with. The tools: README.md.
set -euo pipefail
cd "$(dirname "$0")"
for tool in wit-bindgen clang-19 wasm-tools; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build: $tool is not installed; see README.md" >&2; exit 1; }
done
[[ -f wasi_snapshot_preview1.reactor.wasm ]] ||
  { echo "build: wasi_snapshot_preview1.reactor.wasm is missing; palisade plugin new writes it" >&2; exit 1; }
wit-bindgen --version | grep -q " 0\.63\." ||
  { echo "build: found $(wit-bindgen --version), need wit-bindgen-cli 0.63 (README.md)" >&2; exit 1; }

rm -rf gen
mkdir -p gen
# It names each file it writes on stderr; shown only when it fails.
if ! log="$(wit-bindgen c wit --world action --out-dir gen 2>&1)"; then
  echo "$log" >&2
  exit 1
fi

cc=(clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -std=c11)
# The generated code is not ours to fix: its warnings do not fail the build.
"${cc[@]}" -Wall -Wno-unused-parameter -Wno-unused-function -c gen/action.c -o gen/action.o
"${cc[@]}" -Wall -Wextra -Werror -Igen -c plugin.c -o gen/plugin.o
# No main (a reactor: the host calls the exports). A 64 KiB stack instead of wasm-ld's 1 MiB:
# Palisade runs each alert on a fresh instance from a pool that keeps only the first pages
# of memory resident, so a small stack makes every invocation cheaper.
"${cc[@]}" -mexec-model=reactor -fuse-ld=lld -Wl,--no-entry -Wl,-z,stack-size=65536 -Wl,--strip-debug \
  gen/action.o gen/action_component_type.o gen/plugin.o -o gen/core.wasm
wasm-tools component new gen/core.wasm \
  --adapt wasi_snapshot_preview1=wasi_snapshot_preview1.reactor.wasm -o @NAME@.wasm
echo "built @NAME@.wasm"
