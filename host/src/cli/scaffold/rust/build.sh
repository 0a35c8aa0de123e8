#!/usr/bin/env bash
# Builds @NAME@.wasm, a WebAssembly component, from src/lib.rs and the WIT in wit/.
# Needs Rust 1.95 with the wasm32-wasip2 target (README.md).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip2
# Wherever cargo builds (CARGO_TARGET_DIR or a configured target-dir included).
target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
cp "${target:-target}/wasm32-wasip2/release/plugin.wasm" @NAME@.wasm
echo "built @NAME@.wasm"
