#!/usr/bin/env bash
# Static certification throughput benchmark (docs/targets "Static certification throughput"):
# times `edgecert check --no-run` on a generated 2-platform image of real files (default:
# 560 MiB copied from /usr per platform, gzip layers) against the decompression floor,
# sequential `gzip -dc` of every layer blob to /dev/null, side by side in the same hyperfine
# run; measures edgecert's peak RSS with /usr/bin/time -v; prints a summary and writes it to
# target/bench-results/static-throughput-<UTC time>.json. It prints figures and never fails
# on a timing (targets: ratio edgecert/floor <= 1.0, peak RSS <= 300 MiB).
#
# With clamscan installed (scripts/setup.sh), the same hyperfine run also times clamscan on
# the same blobs (EDGECERT_BENCH_CLAMSCAN=0 skips it).
#
# Environment:
#   EDGECERT_BENCH_DIR         image/offer cache (default /var/tmp/edgecert/bench); the image
#                              is generated once per size and source, then reused
#   EDGECERT_BENCH_SIZE_MIB    real-file MiB per platform (default 560)
#   EDGECERT_BENCH_SOURCE      tree the files are copied from (default /usr)
#   EDGECERT_BENCH_RUNS        hyperfine runs per command (default 5, plus 1 warmup)
#   EDGECERT_BENCH_SKIP_SETUP  1: do not call scripts/setup.sh or apt-get
#   EDGECERT_BENCH_PERF        1: also `perf record` one edgecert run and print its top symbols
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${EDGECERT_BENCH_DIR:-/var/tmp/edgecert/bench}
SIZE_MIB=${EDGECERT_BENCH_SIZE_MIB:-560}
SOURCE=${EDGECERT_BENCH_SOURCE:-/usr}
RUNS=${EDGECERT_BENCH_RUNS:-5}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR="$ROOT/target/bench-results"
RUN_DIR="$RESULTS_DIR/static-throughput-$STAMP"
RESULT_JSON="$RESULTS_DIR/static-throughput-$STAMP.json"

log() { printf 'bench: %s\n' "$*" >&2; }

# --- setup ---------------------------------------------------------------------------------
if [ "${EDGECERT_BENCH_SKIP_SETUP:-0}" != 1 ]; then
  if [ -x "$ROOT/scripts/setup.sh" ]; then
    log "running scripts/setup.sh (idempotent)"
    "$ROOT/scripts/setup.sh"
  fi
  missing=()
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v jq >/dev/null || missing+=(jq)
  command -v gzip >/dev/null || missing+=(gzip)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update may fail on one foreign index (field notes); the install decides.
    apt-get update -qq || log "apt-get update reported errors; carrying on"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
for tool in hyperfine jq gzip cargo; do
  command -v "$tool" >/dev/null || { log "$tool not found"; exit 2; }
done
[ -x /usr/bin/time ] || { log "/usr/bin/time not found (Debian package 'time')"; exit 2; }
if [ -f /var/tmp/edgecert/env ]; then
  # EDGECERT_BUSYBOX_DIR for the image generator.
  # shellcheck disable=SC1091
  . /var/tmp/edgecert/env
fi

# --- build ---------------------------------------------------------------------------------
log "building release binaries"
(cd "$ROOT" && cargo build --release -p edgecert --bin edgecert \
  && cargo build --release -p edgecert-fixtures --example bench_image)
EDGECERT="$ROOT/target/release/edgecert"
GEN="$ROOT/target/release/examples/bench_image"

# --- image (generated once, reused) --------------------------------------------------------
mkdir -p "$BENCH_DIR" "$RUN_DIR"
SOURCE_REAL=$(realpath "$SOURCE")
KEY="image-${SIZE_MIB}mib-$(printf '%s' "$SOURCE_REAL" | sha256sum | cut -c1-8)"
IMAGE="$BENCH_DIR/$KEY"
SUMMARY="$BENCH_DIR/$KEY.txt"
if [ -f "$IMAGE/index.json" ] && [ -s "$SUMMARY" ]; then
  log "reusing image $IMAGE"
else
  log "generating image $IMAGE from $SOURCE_REAL ($SIZE_MIB MiB per platform)"
  rm -f "$SUMMARY"
  "$GEN" "$IMAGE" --source "$SOURCE_REAL" --size-mib "$SIZE_MIB" >"$SUMMARY.tmp"
  mv "$SUMMARY.tmp" "$SUMMARY"
fi
field() { awk -F'\t' -v k="$1" '$1==k {print $2}' "$SUMMARY"; }
UNCOMPRESSED=$(field uncompressed_bytes)
COMPRESSED=$(field compressed_bytes)
FILE_BYTES=$(field file_bytes_per_platform)
# Every distinct layer blob, read from the layout itself (index.json -> image index ->
# manifests), in manifest order.
blob() { printf '%s/blobs/sha256/%s\n' "$IMAGE" "${1#sha256:}"; }
LAYERS="$RUN_DIR/layers.txt"
INDEX_BLOB=$(blob "$(jq -r '.manifests[0].digest' "$IMAGE/index.json")")
for m in $(jq -r '.manifests[].digest' "$INDEX_BLOB"); do
  jq -r '.layers[].digest' "$(blob "$m")"
done | awk '!seen[$0]++' | while read -r d; do blob "$d"; done >"$LAYERS"
NLAYERS=$(wc -l <"$LAYERS")
while read -r f; do
  [ -f "$f" ] || { log "layer blob $f missing; delete $IMAGE and rerun"; exit 2; }
done <"$LAYERS"

# --- offer ---------------------------------------------------------------------------------
OFFER_DIR="$BENCH_DIR/offer"
"$EDGECERT" init "$OFFER_DIR" --force >/dev/null
jq '.image.tags = ["1.0.0", "1.0", "latest"]
    | .image.defaultTag = "1.0"
    | .image.platforms = ["linux/amd64", "linux/arm/v7"]' \
  "$OFFER_DIR/offer.json" >"$OFFER_DIR/offer.json.tmp"
mv "$OFFER_DIR/offer.json.tmp" "$OFFER_DIR/offer.json"
OFFER="$OFFER_DIR/offer.json"

# One gzip process after another, each blob to /dev/null: a single core, GNU gzip.
printf -v FLOOR_CMD 'xargs -n1 gzip -dc <%q >/dev/null' "$LAYERS"
CHECK_ARGS=(check --offer "$OFFER" --image "oci:$IMAGE" --no-run --format json)
# The malware result cache is off: every run really scans every file.
export EDGECERT_CACHE_DIR=
printf -v CHECK_CMD '%q ' "$EDGECERT" "${CHECK_ARGS[@]}" --output /dev/null
# The peer: clamscan on the same blobs with the signature DB scripts/setup.sh writes (an EICAR
# body signature), its size limits raised so it really scans big layers (by default it skips
# files over 100 MB silently).
CLAM_DB=${EDGECERT_STATE:-/var/tmp/edgecert}/clamav/db
CLAMSCAN=()
if [ "${EDGECERT_BENCH_CLAMSCAN:-1}" = 1 ] && command -v clamscan >/dev/null && [ -d "$CLAM_DB" ]; then
  printf -v CLAM_CMD 'xargs clamscan --no-summary --infected -d %q --max-filesize=4000M --max-scansize=4000M --max-files=1000000 <%q' "$CLAM_DB" "$LAYERS"
  CLAMSCAN=(-n "clamscan (same blobs)" "$CLAM_CMD")
fi

# --- sanity run + peak RSS -----------------------------------------------------------------
# Exit 1 (findings) and 3 are expected on this synthetic image; 2 means the tool could not do
# its job, so the timing would be meaningless.
log "edgecert sanity run with /usr/bin/time -v"
set +e
/usr/bin/time -v -o "$RUN_DIR/time-v.txt" "$EDGECERT" "${CHECK_ARGS[@]}" \
  --output "$RUN_DIR/report.json" 2>"$RUN_DIR/edgecert.stderr"
CHECK_RC=$?
set -e
if [ "$CHECK_RC" -ne 0 ] && [ "$CHECK_RC" -ne 1 ] && [ "$CHECK_RC" -ne 3 ]; then
  log "edgecert check exited $CHECK_RC; stderr:"
  cat "$RUN_DIR/edgecert.stderr" >&2
  exit 2
fi
jq -e . "$RUN_DIR/report.json" >/dev/null \
  || { log "edgecert did not write a JSON report"; exit 2; }
PEAK_RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$RUN_DIR/time-v.txt")
CHECK_WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$RUN_DIR/time-v.txt")

# --- timing, side by side ------------------------------------------------------------------
log "hyperfine: floor vs edgecert ($NLAYERS layer blobs, $RUNS runs each)"
hyperfine --warmup 1 --runs "$RUNS" -i --style basic \
  --export-json "$RUN_DIR/hyperfine.json" \
  -n "floor: gzip -dc (sequential)" "$FLOOR_CMD" \
  -n "edgecert check --no-run" "$CHECK_CMD" "${CLAMSCAN[@]}" >&2

if [ "${EDGECERT_BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  log "perf record of one edgecert run"
  perf record -q -F 499 -g -o "$RUN_DIR/perf.data" -- "$EDGECERT" "${CHECK_ARGS[@]}" \
    --output /dev/null 2>/dev/null || true
  perf report -i "$RUN_DIR/perf.data" --no-children --sort dso,symbol --stdio -g none \
    2>/dev/null | grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+(-[[:space:]]+)*$//' \
    | head -n 15 >"$RUN_DIR/perf-top.txt" || true
fi

# --- summary -------------------------------------------------------------------------------
jq -n \
  --slurpfile hf "$RUN_DIR/hyperfine.json" \
  --arg stamp "$STAMP" --arg image "$IMAGE" --arg source "$SOURCE_REAL" \
  --arg host "$(uname -srm)" --argjson cores "$(nproc)" \
  --argjson uncompressed "$UNCOMPRESSED" --argjson compressed "$COMPRESSED" \
  --argjson file_bytes "$FILE_BYTES" --argjson layers "$NLAYERS" \
  --argjson rss_kb "$PEAK_RSS_KB" --argjson rc "$CHECK_RC" --arg wall "$CHECK_WALL" \
  --arg edgecert_version "$("$EDGECERT" --version 2>/dev/null || echo unknown)" \
  --arg git "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg run_dir "$RUN_DIR" '
  def t(i): $hf[0].results[i] | {mean, stddev, median, min, max, runs: (.times | length)};
  (t(0)) as $floor | (t(1)) as $check | ($hf[0].results[2] // null) as $clam |
  {
    benchmark: "static-throughput",
    date: $stamp, host: $host, cores: $cores, git: $git, edgecert_version: $edgecert_version,
    image: {
      dir: $image, source: $source, platforms: ["linux/amd64", "linux/arm/v7"],
      layer_blobs: $layers, file_bytes_per_platform: $file_bytes,
      uncompressed_bytes: $uncompressed, compressed_bytes: $compressed,
      uncompressed_mib: ($uncompressed / 1048576 | floor)
    },
    floor: ($floor + {command: "gzip -dc of every layer blob, sequential"}),
    edgecert: ($check + {
      command: "edgecert check --no-run --format json", exit_code: $rc,
      peak_rss_mib: ($rss_kb / 1024 * 10 | round / 10),
      sanity_run_wall: $wall
    }),
    ratio_edgecert_over_floor: ($check.mean / $floor.mean * 1000 | round / 1000),
    clamscan: (if $clam then {mean: $clam.mean, stddev: $clam.stddev} else null end),
    speedup_over_clamscan: (if $clam then ($clam.mean / $check.mean * 10 | round / 10) else null end),
    throughput_mb_s: {
      floor: ($uncompressed / $floor.mean / 1e6 | round),
      edgecert: ($uncompressed / $check.mean / 1e6 | round)
    },
    targets: { ratio_max: 1.0, peak_rss_mib_max: 300 },
    artifacts: $run_dir
  }' >"$RESULT_JSON"

jq -r '
  "",
  "static-throughput \(.date)  (\(.cores) cores, \(.host), \(.git))",
  "image     \(.image.uncompressed_mib) MiB uncompressed (\(.image.uncompressed_bytes) B) in \(.image.layer_blobs) gzip blobs, \(.image.compressed_bytes) B compressed",
  "floor     mean \(.floor.mean * 1000 | round / 1000) s  ± \(.floor.stddev * 1000 | round / 1000)  (\(.throughput_mb_s.floor) MB/s)",
  "edgecert  mean \(.edgecert.mean * 1000 | round / 1000) s  ± \(.edgecert.stddev * 1000 | round / 1000)  (\(.throughput_mb_s.edgecert) MB/s, exit \(.edgecert.exit_code))",
  "ratio     edgecert/floor = \(.ratio_edgecert_over_floor)   (target <= \(.targets.ratio_max))",
  "peak RSS  \(.edgecert.peak_rss_mib) MiB   (target <= \(.targets.peak_rss_mib_max))",
  (if .clamscan then "clamscan  mean \(.clamscan.mean * 1000 | round / 1000) s: edgecert is \(.speedup_over_clamscan)x faster (target >= 10)" else "clamscan  not measured" end),
  "results   \(input_filename)"' "$RESULT_JSON"
if [ -s "$RUN_DIR/perf-top.txt" ]; then
  printf '\nperf, top symbols of one edgecert run (self time):\n'
  cat "$RUN_DIR/perf-top.txt"
fi
