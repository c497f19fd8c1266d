#!/usr/bin/env bash
# Builds every plugin into plugins/dist/<plugin-name>.wasm, the one directory the host's tests
# and benchmarks read: the Rust examples and test plugins (wasm32-wasip2, release) and the
# JavaScript example (componentize-js). Also checks the Rust workspace with rustfmt and clippy.
# The Rust plugins are built reproducibly: the same commit and toolchain give the same bytes
# anywhere (reproducible.sh), so a digest pinned in phasev.toml can be checked by rebuilding.
#
# Idempotent and quick when nothing changed: cargo rebuilds only what changed, `npm ci` runs
# only when node_modules is missing or older than package-lock.json, and the JavaScript
# component is rebuilt only when its sources, lock file or the WIT are newer than it.
# Needs rustup, cargo, node and npm; fetches the wasm32-wasip2 target, crates and npm packages
# on first use.
set -euo pipefail
cd "$(dirname "$0")"
started=$SECONDS

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

cargo fmt --check
# Reproducible: paths remapped (reproducible.sh), dependencies exactly as Cargo.lock says.
source ./reproducible.sh
cargo build --release --locked --target wasm32-wasip2
cargo clippy --release --locked --target wasm32-wasip2 --all-targets -- -D warnings

mkdir -p dist
for manifest in examples/*/Cargo.toml test-plugins/*/Cargo.toml; do
  name=$(basename "$(dirname "$manifest")")
  built=target/wasm32-wasip2/release/phasev_plugin_${name//-/_}.wasm
  cmp -s "$built" "dist/$name.wasm" || cp "$built" "dist/$name.wasm"
done

js=examples/js-tasks-progress
if [[ ! -f $js/node_modules/.package-lock.json || $js/package-lock.json -nt $js/node_modules/.package-lock.json ]]; then
  (cd "$js" && npm ci --no-audit --no-fund)
fi
js_out=dist/tasks-progress.wasm
for input in "$js/plugin.js" "$js/build.mjs" "$js/package-lock.json" wit/plugin.wit; do
  if [[ ! -f $js_out || $input -nt $js_out ]]; then
    node "$js/build.mjs" "$js_out"
    break
  fi
done

echo "plugins/dist ($((SECONDS - started)) s):"
for wasm in dist/*.wasm; do
  printf '  %-22s %9d bytes\n' "$(basename "$wasm")" "$(wc -c <"$wasm")"
done
