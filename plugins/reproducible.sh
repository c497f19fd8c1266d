# Sourced by build.sh (and by the host's reproducibility test): makes a plugin's bytes depend
# on its sources and Cargo.lock only, not on where they were built. rustc embeds the paths of
# the sources it compiles (in panic locations); this maps the workspace to /phasev/plugins and
# cargo's home (the registry's sources) to /cargo, so anyone who builds the same commit with the
# same toolchain gets the same sha256, which is what phasev.toml pins. Overrides RUSTFLAGS.
workspace=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
cargo_home=$(cd "$cargo_home" && pwd -P)
sep=$'\x1f'
export CARGO_ENCODED_RUSTFLAGS="--remap-path-prefix=$workspace=/phasev/plugins$sep--remap-path-prefix=$cargo_home=/cargo"
unset RUSTFLAGS
