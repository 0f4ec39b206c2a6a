#!/usr/bin/env bash
# Sets up a fresh machine of this kind and runs the main job: builds edgecert, writes the
# example module (a real multi-arch busybox image as an OCI layout, plus its offer.json) into
# ./example, and certifies it; then takes it through the embedded marketplace (`edgecert serve`)
# to a live catalog entry and prints the URL to open. Re-running is cheap: every step is
# idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release --locked -p edgecert -p edgecert-fixtures --bin edgecert --example example_module
bin=target/release
mkdir -p example
"$bin/examples/example_module" example/image >/dev/null
[ -f example/tempfilter/offer.json ] || "$bin/edgecert" init example/tempfilter
# The example image also ships linux/arm64; say so in the offer (EC201 wants an exact list).
python3 - <<'PY'
import json
p = "example/tempfilter/offer.json"
o = json.load(open(p))
if "linux/arm64" not in o["image"]["platforms"]:
    o["image"]["platforms"].append("linux/arm64")
    json.dump(o, open(p, "w"), indent=2)
PY
echo "== edgecert check --offer example/tempfilter/offer.json --image oci:example/image"
set +e
"$bin/edgecert" check --offer example/tempfilter/offer.json --image oci:example/image "$@"
check=$?
set -e
[ "$check" = 0 ] || exit "$check"

# The marketplace, embedded (SQLite + a blob directory under example/marketplace): the example
# module from submission to a live catalog entry, the way a partner and a reviewer do it.
# `serve` keeps running afterwards (stop it with: kill $(cat example/marketplace/serve.pid)).
M=example/marketplace
PORT=${EDGECERT_QUICKSTART_PORT:-5000}
export EDGECERT_SERVER=http://127.0.0.1:$PORT
mkdir -p "$M"
if [ ! -s "$M/contoso.token" ]; then
  rm -rf "$M/data"
  "$bin/edgecert" admin --data "$M/data" create-publisher contoso > "$M/contoso.token"
  "$bin/edgecert" admin --data "$M/data" create-reviewer reviewer > "$M/reviewer.token"
fi
if ! curl -fsS "$EDGECERT_SERVER/healthz" >/dev/null 2>&1; then
  nohup "$bin/edgecert" serve --data "$M/data" --listen "127.0.0.1:$PORT" \
      --public-url "$EDGECERT_SERVER" > "$M/serve.log" 2>&1 &
  echo $! > "$M/serve.pid"
  for _ in $(seq 1 50); do curl -fsS "$EDGECERT_SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
fi
listed=$(curl -fsS "$EDGECERT_SERVER/api/v1/catalog/contoso.tempfilter.standard" 2>/dev/null || true)
if [ -z "$listed" ]; then
  echo "== edgecert submit --offer example/tempfilter/offer.json --image oci:example/image:1.0.0 --wait"
  EDGECERT_TOKEN=$(cat "$M/contoso.token") "$bin/edgecert" submit \
      --offer example/tempfilter/offer.json --image oci:example/image:1.0.0 --wait > "$M/report.txt" 2> "$M/submit.log" || {
    cat "$M/submit.log" "$M/report.txt"; echo "quickstart: the submission was not certified"; exit 1; }
  id=$(grep -o 'submission [0-9a-f]\{32\}' "$M/submit.log" | head -1 | cut -d' ' -f2)
  tail -1 "$M/submit.log"
  echo "== edgecert review approve $id"
  EDGECERT_TOKEN=$(cat "$M/reviewer.token") "$bin/edgecert" review approve "$id"
  for _ in $(seq 1 100); do
    state=$(curl -fsS -H "Authorization: Bearer $(cat "$M/contoso.token")" \
        "$EDGECERT_SERVER/api/v1/submissions/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    [ "$state" = preview ] && break; sleep 0.2
  done
  echo "== edgecert publish $id"
  EDGECERT_TOKEN=$(cat "$M/contoso.token") "$bin/edgecert" publish "$id" 2>/dev/null
fi
echo
echo "The example module is live: docker pull 127.0.0.1:$PORT/contoso.tempfilter.standard:1.0"
echo "Open: $EDGECERT_SERVER/modules/contoso.tempfilter.standard   (API: $EDGECERT_SERVER/api/v1/catalog/contoso.tempfilter.standard)"
echo "(serve keeps running: kill \$(cat $M/serve.pid) to stop it)"
exit $check
