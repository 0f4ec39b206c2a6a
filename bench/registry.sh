#!/usr/bin/env bash
# Registry benchmark (issue 11): `edgecert serve` (embedded default: SQLite + a blob directory)
# against Debian's docker-registry (CNCF distribution 2.8.2, filesystem storage), both fresh,
# on loopback, with the same content, in the same run, loaded by a real HTTP load tool (oha,
# built once from crates.io into $EDGECERT_STATE):
#
#   manifest GET   oha -z DURATION -c CONC: anonymous GET of a 2-platform image's index by tag
#                  (ours: a public repository, promoted there through the library API as the
#                  go-live step does; distribution: no auth configured) → requests/s and p99;
#   blob GET       oha -n N -c 1: a 100 MiB blob → MB/s (ours from the publisher's staging
#                  repository with Basic auth, since blobs reach public repositories only
#                  through a manifest; distribution anonymous);
#   push           skopeo copy --all of the 2-platform example image into a new repository,
#                  PUSHES times → median seconds (ours with the publisher's token flow).
#
# Rounds alternate ours/theirs; the best round of each counts. It prints figures and ratios and
# never fails on a timing. Targets: manifest requests/s ≥ 2× distribution's, p99 no worse, blob
# MB/s ≥ distribution's. Results: target/bench-results/registry-<UTC time>.json.
#
# Environment:
#   EDGECERT_BENCH_SKIP_SETUP  1: do not call scripts/setup.sh
#   EDGECERT_BENCH_DURATION    seconds per manifest round (default 10)
#   EDGECERT_BENCH_CONC        concurrent connections for manifest GETs (default 32)
#   EDGECERT_BENCH_ROUNDS      rounds per registry (default 2)
#   EDGECERT_BENCH_PUSHES      pushes per registry (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${EDGECERT_STATE:-/var/tmp/edgecert}
DURATION=${EDGECERT_BENCH_DURATION:-10}
CONC=${EDGECERT_BENCH_CONC:-32}
ROUNDS=${EDGECERT_BENCH_ROUNDS:-2}
PUSHES=${EDGECERT_BENCH_PUSHES:-3}
OHA_VERSION=1.16.0
OHA="$STATE/oha-$OHA_VERSION/bin/oha"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR="$ROOT/target/bench-results"
RESULT_JSON="$RESULTS_DIR/registry-$STAMP.json"

log() { printf 'bench: %s\n' "$*" >&2; }

if [ "${EDGECERT_BENCH_SKIP_SETUP:-0}" != 1 ]; then
  log "running scripts/setup.sh (idempotent)"
  bash "$ROOT/scripts/setup.sh"
fi
command -v docker-registry >/dev/null || { log "docker-registry is missing (scripts/setup.sh installs it)"; exit 1; }
command -v skopeo >/dev/null || { log "skopeo is missing (scripts/setup.sh installs it)"; exit 1; }
if [ ! -x "$OHA" ]; then
  log "building oha $OHA_VERSION (once)"
  cargo install -q oha --version "$OHA_VERSION" --locked --root "$STATE/oha-$OHA_VERSION.tmp"
  mv "$STATE/oha-$OHA_VERSION.tmp" "$STATE/oha-$OHA_VERSION"
fi

log "building edgecert (release)"
(cd "$ROOT" && cargo build -q --release --locked -p edgecert -p edgecert-fixtures -p edgecert-registry \
  --bin edgecert --example example_module --example promote)
BIN="$ROOT/target/release"

WORK=$(mktemp -d /var/tmp/edgecert-bench-registry.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; log "$1 did not come up"; exit 1; }

# --- the two registries, fresh -------------------------------------------------------------
OURS_PORT=$(free_port)
"$BIN/edgecert" admin --data "$WORK/ours" create-publisher contoso >"$WORK/token" 2>/dev/null
TOKEN=$(cat "$WORK/token")
EDGECERT_LOG=warn "$BIN/edgecert" serve --data "$WORK/ours" --listen "127.0.0.1:$OURS_PORT" --gc-interval 0 \
  2>"$WORK/ours.log" &
PIDS+=($!)
THEIRS_PORT=$(free_port)
mkdir -p "$WORK/theirs/data"
cat >"$WORK/theirs/config.yml" <<YML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $WORK/theirs/data }
http:
  addr: 127.0.0.1:$THEIRS_PORT
YML
docker-registry serve "$WORK/theirs/config.yml" >"$WORK/theirs.log" 2>&1 &
PIDS+=($!)
wait_up "http://127.0.0.1:$OURS_PORT/healthz"
wait_up "http://127.0.0.1:$THEIRS_PORT/v2/"
OURS="127.0.0.1:$OURS_PORT"
THEIRS="127.0.0.1:$THEIRS_PORT"
log "ours: $("$BIN/edgecert" --version 2>/dev/null || echo edgecert) at $OURS; theirs: $(docker-registry --version 2>/dev/null | head -n1) at $THEIRS"

# --- content: the 2-platform example image (fixture builder), pushed by skopeo -------------
"$BIN/examples/example_module" "$WORK/image" >/dev/null
TAG=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"][0]; print(m.get("annotations",{}).get("org.opencontainers.image.ref.name","latest"))' "$WORK/image/index.json")
now() { date +%s.%N; }
push() { # registry repo creds...
  local dest=$1 repo=$2; shift 2
  skopeo copy -q --all --dest-tls-verify=false "$@" "oci:$WORK/image:$TAG" "docker://$dest/$repo:1.0.0" >/dev/null
}
declare -a OURS_PUSH THEIRS_PUSH
for i in $(seq 1 "$PUSHES"); do
  t0=$(now); push "$OURS" "staging/contoso/bench$i" --dest-creds "contoso:$TOKEN"; t1=$(now)
  OURS_PUSH+=("$(awk "BEGIN{print $t1 - $t0}")")
  t0=$(now); push "$THEIRS" "contoso/bench$i"; t1=$(now)
  THEIRS_PUSH+=("$(awk "BEGIN{print $t1 - $t0}")")
done
"$BIN/examples/promote" "$WORK/ours" staging/contoso/bench1 1.0.0 contoso.bench.standard 1.0.0 >/dev/null

# A 100 MiB blob of random bytes in both, monolithic upload.
head -c $((100 * 1024 * 1024)) /dev/urandom >"$WORK/big"
BIG="sha256:$(sha256sum "$WORK/big" | cut -d' ' -f1)"
upload() { # base-url creds...
  local base=$1; shift
  local loc
  loc=$(curl -fsS "$@" -X POST -D - -o /dev/null "$base/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  case "$loc" in http*) ;; *) loc="${base%%/v2/*}$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$BIG" ;; *) loc="$loc?digest=$BIG" ;; esac
  curl -fsS "$@" -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/big" "$loc" >/dev/null
}
upload "http://$OURS/v2/staging/contoso/bench1" -u "contoso:$TOKEN"
upload "http://$THEIRS/v2/contoso/bench1"

# --- load ---------------------------------------------------------------------------------
ACCEPT='Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
mkdir -p "$RESULTS_DIR" "$WORK/oha"
for r in $(seq 1 "$ROUNDS"); do
  log "round $r: manifest GET, ${DURATION}s × $CONC connections, ours then theirs"
  "$OHA" --no-tui --output-format json -z "${DURATION}s" -c "$CONC" -H "$ACCEPT" \
    "http://$OURS/v2/contoso.bench.standard/manifests/1.0.0" >"$WORK/oha/ours-manifest-$r.json"
  "$OHA" --no-tui --output-format json -z "${DURATION}s" -c "$CONC" -H "$ACCEPT" \
    "http://$THEIRS/v2/contoso/bench1/manifests/1.0.0" >"$WORK/oha/theirs-manifest-$r.json"
  log "round $r: 100 MiB blob GET × 10, one connection, ours then theirs"
  "$OHA" --no-tui --output-format json -n 10 -c 1 -a "contoso:$TOKEN" \
    "http://$OURS/v2/staging/contoso/bench1/blobs/$BIG" >"$WORK/oha/ours-blob-$r.json"
  "$OHA" --no-tui --output-format json -n 10 -c 1 \
    "http://$THEIRS/v2/contoso/bench1/blobs/$BIG" >"$WORK/oha/theirs-blob-$r.json"
done
cp -r "$WORK/oha" "$RESULTS_DIR/registry-$STAMP"

python3 - "$WORK/oha" "$ROUNDS" "$RESULT_JSON" "${OURS_PUSH[*]}" "${THEIRS_PUSH[*]}" <<'PY'
import json, statistics, sys
d, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ours_push = [float(x) for x in sys.argv[4].split()]
theirs_push = [float(x) for x in sys.argv[5].split()]

def load(who, what, r):
    j = json.load(open(f"{d}/{who}-{what}-{r}.json"))
    codes = j.get("statusCodeDistribution", {})
    bad = {k: v for k, v in codes.items() if not k.startswith("2")}
    if bad or j["summary"].get("successRate", 1) < 1:
        sys.exit(f"{who} {what} round {r}: failed requests {bad or j['summary']}")
    return j

def best(who, what, key):
    runs = [load(who, what, r) for r in range(1, rounds + 1)]
    return max(runs, key=key)

res = {}
for who in ("ours", "theirs"):
    m = best(who, "manifest", lambda j: j["summary"]["requestsPerSec"])
    b = best(who, "blob", lambda j: j["summary"]["sizePerSec"])
    res[who] = {
        "manifest_rps": m["summary"]["requestsPerSec"],
        "manifest_p99_ms": m["latencyPercentiles"]["p99"] * 1000,
        "blob_mb_per_s": b["summary"]["sizePerSec"] / 1e6,
        "push_median_s": statistics.median(ours_push if who == "ours" else theirs_push),
    }
o, t = res["ours"], res["theirs"]
res["ratios"] = {
    "manifest_rps": o["manifest_rps"] / t["manifest_rps"],
    "manifest_p99": o["manifest_p99_ms"] / t["manifest_p99_ms"],
    "blob_mb_per_s": o["blob_mb_per_s"] / t["blob_mb_per_s"],
    "push_time": o["push_median_s"] / t["push_median_s"],
}
json.dump(res, open(out, "w"), indent=2)
r = res["ratios"]
print(f"                         edgecert    distribution   ratio   target")
print(f"manifest GET req/s   {o['manifest_rps']:>12.0f} {t['manifest_rps']:>14.0f}   {r['manifest_rps']:5.2f}×  ≥ 2×")
print(f"manifest GET p99 ms  {o['manifest_p99_ms']:>12.2f} {t['manifest_p99_ms']:>14.2f}   {r['manifest_p99']:5.2f}×  ≤ 1×")
print(f"100 MiB blob MB/s    {o['blob_mb_per_s']:>12.0f} {t['blob_mb_per_s']:>14.0f}   {r['blob_mb_per_s']:5.2f}×  ≥ 1×")
print(f"2-platform push s    {o['push_median_s']:>12.3f} {t['push_median_s']:>14.3f}   {r['push_time']:5.2f}×  (time: lower is better)")
print(f"results: {out}")
PY
