#!/usr/bin/env bash
# Builds @NAME@.wasm, a WebAssembly component, from src/lib.rs and the WIT in wit/.
# Needs Rust 1.95 with the wasm32-wasip2 target (README.md); honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip2
target="${CARGO_TARGET_DIR:-target}"
cp "$target/wasm32-wasip2/release/plugin.wasm" @NAME@.wasm
echo "built @NAME@.wasm"
