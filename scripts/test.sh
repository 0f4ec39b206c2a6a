#!/usr/bin/env bash
# The whole test suite, from a fresh machine of this kind: installs and starts what the tests
# need (scripts/setup.sh: Debian packages, busybox binaries, dockerd, docker-registry), then
# formatting, lints and every test. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# shellcheck disable=SC1091
source "${EDGECERT_STATE:-/var/tmp/edgecert}/env"
# Tests that need a service fail instead of skipping when it is missing.
export EDGECERT_REQUIRE_SERVICES=1
# CI builds from a clean clone once: incremental compilation would only write caches no later
# build reads (it costs about a tenth of the build). Developers keep it.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
# The real SDK modules the ingestion test runs (Debian root filesystems with the Python and
# Node IoT SDKs, amd64 + armhf): built once (about 11 minutes on this machine kind) and cached
# under $EDGECERT_STATE/sdk-modules by their inputs; a cached run takes no time.
echo "== SDK modules"
bash scripts/sdk-modules.sh >/dev/null

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo machete (dependencies nothing uses)"
[ -x "$EDGECERT_CARGO_MACHETE" ] || { echo "cargo-machete is missing: scripts/setup.sh could not build it" >&2; exit 1; }
"$EDGECERT_CARGO_MACHETE"
echo "== cargo deny (licences, bans, sources: deny.toml; offline)"
[ -x "$EDGECERT_CARGO_DENY" ] || { echo "cargo-deny is missing: scripts/setup.sh could not build it" >&2; exit 1; }
"$EDGECERT_CARGO_DENY" --offline --log-level error check licenses bans sources
echo "== tests"
cargo nextest run --workspace --locked --no-fail-fast
