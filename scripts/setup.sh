#!/usr/bin/env bash
# Idempotent machine setup for edgecert on Debian 12: Debian packages, multi-arch busybox
# binaries for the fixture builder, and the services the tests talk to (dockerd, Debian's
# docker-registry on loopback). Safe to run again; it only does what is missing.
#
# Environment written for other scripts: source "$EDGECERT_STATE/env" (see the end).
set -euo pipefail

STATE=${EDGECERT_STATE:-/var/tmp/edgecert}
mkdir -p "$STATE"
log() { printf 'setup: %s\n' "$*" >&2; }

# /dev/null must be the null device. Seen on machines of this kind: a regular file in its
# place, which collects everything written "to /dev/null" and hands it back to readers —
# cargo's rustc probe then compiles that text and every build fails. Put the device back.
if [ ! -c /dev/null ]; then
  log "/dev/null is not the null device; recreating it"
  rm -f /dev/null
  mknod -m 666 /dev/null c 1 3
fi

need_pkgs=(docker.io skopeo docker-registry qemu-user-static binfmt-support busybox-static postgresql
           apache2-utils clamav clamav-daemon socat gzip ca-certificates iproute2 procps curl
           chromium chromium-driver)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

arch_added=0
for a in armhf arm64; do
  if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
    dpkg --add-architecture "$a"; arch_added=1
  fi
done

BB="$STATE/busybox"
have_bb=1
for a in amd64 armhf arm64; do [ -x "$BB/$a/busybox" ] || have_bb=0; done

# Real Debian packages the fixture builder installs into layers the way dpkg would (files,
# status stanza, info/<pkg>.list): the real-layer tests of EC806 and the SBOM. Keyed by name
# and architecture; a package already downloaded (any version) is kept.
DEBS="$STATE/debs"
deb_wants=(libgnutls30:amd64 libgnutls30:armhf python3-pip:all)
have_debs=1
for w in "${deb_wants[@]}"; do
  ls "$DEBS/${w#*:}/${w%%:*}"_*.deb >/dev/null 2>&1 || have_debs=0
done

if [ ${#missing[@]} -gt 0 ] || [ $arch_added = 1 ] || [ $have_bb = 0 ] || [ $have_debs = 0 ]; then
  # apt-get update can exit 100 when one foreign index is mid-sync (field notes); retry once
  # and judge success by whether the installs below work.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || { sleep 5; apt-get update -qq || log "apt-get update reported errors; carrying on"; }
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Real busybox-static binaries for each platform the fixture builder writes.
if [ $have_bb = 0 ]; then
  tmp=$(mktemp -d)
  ( cd "$tmp"
    for a in amd64 armhf arm64; do
      apt-get download -qq "busybox-static:$a" >/dev/null
      deb=$(ls busybox-static_*_"$a".deb | head -n1)
      mkdir -p "x-$a" "$BB/$a"
      dpkg-deb -x "$deb" "x-$a"
      install -m 0755 "x-$a/bin/busybox" "$BB/$a/busybox"
    done )
  rm -rf "$tmp"
  log "busybox binaries in $BB"
fi

if [ $have_debs = 0 ]; then
  for w in "${deb_wants[@]}"; do
    name=${w%%:*} arch=${w#*:}
    ls "$DEBS/$arch/$name"_*.deb >/dev/null 2>&1 && continue
    mkdir -p "$DEBS/$arch"
    spec=$name; [ "$arch" = all ] || spec="$name:$arch"
    ( cd "$DEBS/$arch" && apt-get download -qq "$spec" >/dev/null 2>&1 ) || log "cannot download $spec"
  done
  log "Debian packages for fixtures in $DEBS"
fi

# Real npm and PyPI packages for the real-layer tests (the Node IoT SDK's storage dependency,
# which embeds the Azure Storage emulator's published key; the Python IoT SDK), pinned.
PKGS="$STATE/packages"
mkdir -p "$PKGS"
if [ ! -s "$PKGS/azure-storage-blob-12.8.0.tgz" ]; then
  ( cd "$PKGS" && npm pack -q @azure/storage-blob@12.8.0 >/dev/null 2>&1 ) || log "cannot npm pack @azure/storage-blob"
fi
if ! ls "$PKGS"/azure_iot_device-2.14.0-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps azure-iot-device==2.14.0 -d "$PKGS" >/dev/null 2>&1 || log "cannot download azure-iot-device"
fi

# binfmt for arm32v7 / arm64 containers under qemu-user.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || log "cannot mount binfmt_misc"
fi
if [ -e /proc/sys/fs/binfmt_misc/status ]; then
  update-binfmts --enable qemu-arm >/dev/null 2>&1 || true
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
fi

# dockerd (Moby engine).
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >"$STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up, see $STATE/dockerd.log"; tail -n 20 "$STATE/dockerd.log" >&2; }
fi

# Debian's docker-registry (CNCF distribution 2.8) on loopback, for docker:// tests.
REG_PORT=${EDGECERT_TEST_REGISTRY_PORT:-5055}
if ! curl -fsS "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1; then
  mkdir -p "$STATE/registry/data"
  cat >"$STATE/registry/config.yml" <<YML
version: 0.1
log: { level: error }
storage:
  filesystem: { rootdirectory: $STATE/registry/data }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$REG_PORT
YML
  log "starting docker-registry on 127.0.0.1:$REG_PORT"
  nohup docker-registry serve "$STATE/registry/config.yml" >"$STATE/registry.log" 2>&1 &
  for _ in $(seq 1 30); do curl -fsS "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && break; sleep 0.5; done
fi

# clamd with a signature database of our own: there is no internet for freshclam, and ClamAV
# loads custom body signatures (.ndb). It detects the EICAR test file (the standard string at
# offset 0) — enough to prove the INSTREAM path end to end. Limits raised so big layers' files
# are really scanned (the defaults silently skip files over 100 MB).
CLAM="$STATE/clamav"
if [ ! -S "$CLAM/clamd.sock" ] || ! printf 'zPING\0' | timeout 5 socat - "UNIX-CONNECT:$CLAM/clamd.sock" 2>/dev/null | grep -q PONG; then
  mkdir -p "$CLAM/db"
  eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
  printf 'Edgecert.Test.EICAR:0:0:%s\n' "$(printf '%s' "$eicar" | od -An -tx1 | tr -d ' \n')" >"$CLAM/db/edgecert-test.ndb"
  cat >"$CLAM/clamd.conf" <<CONF
LocalSocket $CLAM/clamd.sock
DatabaseDirectory $CLAM/db
PidFile $CLAM/clamd.pid
LogFile $CLAM/clamd.log
Foreground false
User root
StreamMaxLength 1000M
MaxFileSize 1000M
MaxScanSize 2000M
MaxFiles 100000
CONF
  rm -f "$CLAM/clamd.sock"
  log "starting clamd"
  clamd -c "$CLAM/clamd.conf" >"$CLAM/start.log" 2>&1 || { log "clamd did not start:"; tail -n 20 "$CLAM/start.log" >&2; }
  for _ in $(seq 1 60); do [ -S "$CLAM/clamd.sock" ] && break; sleep 0.5; done
fi

# The official CycloneDX 1.5 JSON schema (and the SPDX and JSF schemas it references), for the
# test that validates `--sbom` output. cyclonedx-python-lib ships them; pinned, fetched once.
CDX_VERSION=11.12.0
SCHEMAS="$STATE/schemas/cyclonedx-$CDX_VERSION"
cdx_files=(bom-1.5.SNAPSHOT.schema.json spdx.SNAPSHOT.schema.json jsf-0.82.SNAPSHOT.schema.json)
have_cdx=1
for f in "${cdx_files[@]}"; do [ -s "$SCHEMAS/$f" ] || have_cdx=0; done
if [ $have_cdx = 0 ]; then
  tmp=$(mktemp -d)
  if python3 -m pip download -q --no-deps "cyclonedx-python-lib==$CDX_VERSION" -d "$tmp" >/dev/null 2>&1; then
    mkdir -p "$SCHEMAS"
    python3 - "$tmp"/cyclonedx_python_lib-*.whl "$SCHEMAS" "${cdx_files[@]}" <<'PY'
import sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for n in names:
        data = z.read("cyclonedx/schema/_res/" + n)
        with open(f"{dest}/{n}.tmp", "wb") as f:
            f.write(data)
PY
    for f in "${cdx_files[@]}"; do mv "$SCHEMAS/$f.tmp" "$SCHEMAS/$f"; done
    log "CycloneDX schemas in $SCHEMAS"
  else
    log "cannot download cyclonedx-python-lib $CDX_VERSION: the SBOM schema test will skip"
  fi
  rm -rf "$tmp"
fi

# The official SARIF 2.1.0 JSON schema (OASIS, final "rtm.5" text), for the test that validates
# `--format sarif` output. Not vendored: its licence terms (OASIS IPR policy) are not confirmed
# for redistribution in this repository. Microsoft's MIT-licensed @microsoft/jest-sarif package
# ships the file; pinned by version and by the file's sha256, fetched once.
SARIF_PKG=@microsoft/jest-sarif@1.0.0-beta.0
SARIF_SHA256=2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8
SARIF_SCHEMA="$STATE/schemas/sarif-2.1.0-rtm.5.json"
if ! echo "$SARIF_SHA256  $SARIF_SCHEMA" | sha256sum -c --status 2>/dev/null; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack -q "$SARIF_PKG" >/dev/null 2>&1) \
    && tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/schemas/sarif-2.1.0-rtm.5.json \
    && echo "$SARIF_SHA256  $tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" | sha256sum -c --status; then
    mkdir -p "$STATE/schemas"
    mv "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$SARIF_SCHEMA"
    log "SARIF schema in $SARIF_SCHEMA"
  else
    log "cannot fetch the SARIF 2.1.0 schema ($SARIF_PKG): the SARIF schema test will skip"
  fi
  rm -rf "$tmp"
fi

# PostgreSQL for the registry's and marketplace's SQL tests (the second metadata backend): a
# cluster of our own under $STATE, trust auth, listening on loopback only.
PG_PORT=${EDGECERT_TEST_PG_PORT:-5433}
PGDATA="$STATE/postgres"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -n "$PG_BIN" ] && ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    rm -rf "$PGDATA"; mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"; chmod 700 "$PGDATA"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA" -A trust -U edgecert >"$STATE/postgres-init.log" 2>&1 \
      || { log "initdb failed:"; tail -n 20 "$STATE/postgres-init.log" >&2; }
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PGDATA" start >/dev/null 2>&1 \
    || { log "PostgreSQL did not start:"; tail -n 20 "$PGDATA/server.log" >&2; }
fi

# Tools from crates.io, each built once into $STATE/<crate>-<version> (keyed by its version;
# the build log is $STATE/<crate>-build.log), its directory left in TOOL_ROOT. A tool that
# does not build is reported and left out: what needs it says so later.
cargo_tool() {
  local crate=$1 version=$2
  shift 2
  local root="$STATE/$crate-$version" buildlog="$STATE/$crate-build.log"
  TOOL_ROOT=$root
  [ -x "$root/bin/$crate" ] && return 0
  log "building $crate $version (once)"
  cargo install -q "$crate" --version "$version" --locked --root "$root.tmp" "$@" >"$buildlog" 2>&1 \
    && mv "$root.tmp" "$root" \
    || { log "$crate did not build:"; tail -n 20 "$buildlog" >&2; rm -rf "$root.tmp"; }
}

# cargo-machete, which the test command runs to find dependencies nothing uses.
cargo_tool cargo-machete 0.9.2
MACHETE_ROOT=$TOOL_ROOT
# cargo-deny, which the test command runs offline on licences, bans and sources (deny.toml).
cargo_tool cargo-deny 0.20.2
DENY_ROOT=$TOOL_ROOT
# An S3-compatible server for the registry's second blob backend: s3s-fs (there is no MinIO
# package), serving a directory under $STATE on loopback with a fixed test key pair.
cargo_tool s3s-fs 0.14.1 --features binary
S3S_ROOT=$TOOL_ROOT
S3_PORT=${EDGECERT_TEST_S3_PORT:-8014}
if [ -x "$S3S_ROOT/bin/s3s-fs" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; then
  mkdir -p "$STATE/s3/edgecert-test"
  log "starting s3s-fs on 127.0.0.1:$S3_PORT"
  nohup "$S3S_ROOT/bin/s3s-fs" --host 127.0.0.1 --port "$S3_PORT" \
    --access-key edgecert-test --secret-key edgecert-test-secret "$STATE/s3" \
    >"$STATE/s3s.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null && break; sleep 0.2; done
fi

cat >"$STATE/env" <<ENV
export EDGECERT_BUSYBOX_DIR=$BB
export EDGECERT_TEST_REGISTRY=127.0.0.1:$REG_PORT
export EDGECERT_CYCLONEDX_SCHEMA_DIR=$SCHEMAS
export EDGECERT_SARIF_SCHEMA=$SARIF_SCHEMA
export EDGECERT_TEST_CLAMD=unix:$CLAM/clamd.sock
export EDGECERT_DEBS_DIR=$DEBS
export EDGECERT_TEST_POSTGRES=postgres://edgecert@127.0.0.1:$PG_PORT/postgres
export EDGECERT_PACKAGES_DIR=$PKGS
export EDGECERT_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export EDGECERT_TEST_S3_BUCKET=edgecert-test
export EDGECERT_TEST_S3_ACCESS_KEY=edgecert-test
export EDGECERT_TEST_S3_SECRET_KEY=edgecert-test-secret
export EDGECERT_CARGO_MACHETE=$MACHETE_ROOT/bin/cargo-machete
export EDGECERT_CARGO_DENY=$DENY_ROOT/bin/cargo-deny
ENV
log "ready (source $STATE/env)"
