#!/usr/bin/env bash
# Runs the plugin once on fixtures/alert.json, with no config and no network, and checks the
# outcome against fixtures/expect.toml. Exit 0 as expected, 1 with a diff when not.
# PALISADE names the palisade binary when it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")"
exec "${PALISADE:-palisade}" plugin test @NAME@.wasm --alert fixtures/alert.json --expect fixtures/expect.toml "$@"
