#!/usr/bin/env bash
# `npm test`: the workspace's cargo tests, then the node suites (which run the
# built addon, the shim and the native binary against the real bubblewrap).
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/host: //p')
cargo test --workspace --locked --target "$host"
node --test --test-concurrency=2 __test__/
