#!/usr/bin/env bash
# Sets up a fresh machine of this kind and runs the main job: builds edgecert, writes the
# example module (a real multi-arch busybox image as an OCI layout, plus its offer.json) into
# ./example, and certifies it. Re-running is cheap: every step is idempotent.
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
"$bin/edgecert" check --offer example/tempfilter/offer.json --image oci:example/image "$@"
