#!/usr/bin/env bash
# Builds the real IoT Edge SDK modules the test suite certifies and runs: a Python module
# (azure-iot-device 2.x from PyPI) and a Node.js module (azure-iot-device with the MQTT and AMQP
# transports, azure-iot-device-mqtt and azure-iot-device-amqp, from npm), each a root filesystem tarball for linux/amd64 and linux/arm/v7 (Debian armhf),
# with the image config to use. The module code is crates/fixtures/sdk-modules/<kind>/.
#
# Nothing comes from a container registry: the base is a Debian minbase made by debootstrap
# from the mirror apt already uses (armhf: --foreign + second stage under qemu-arm via binfmt,
# slow), the SDKs are installed with pip and npm on the host (pure Python / pure JS, so one
# install serves both architectures) and checked by importing them inside each rootfs.
#
# Output, cached outside the clone and keyed by a hash of every input (Debian suite and
# package lists, the pinned SDK dependency sets, the module sources, the recipe versions):
#   ${EDGECERT_STATE:-/var/tmp/edgecert}/sdk-modules/<key>/rootfs-{python,node}-{amd64,armhf}.tar
#   ${EDGECERT_STATE:-/var/tmp/edgecert}/sdk-modules/<key>/module-{python,node}.json (image config:
#     entrypoint, cmd, user, env, workingDir; copied from <kind>/image-config.json)
# The Debian stage is cached separately (sdk-modules/debian-<debian key>/), so editing a module
# only re-runs the quick assembly. The cache directory is printed on stdout at the end.
#
# Usage: scripts/sdk-modules.sh            build what is missing, print the cache directory
#        scripts/sdk-modules.sh --check    print the cache directory if complete, else exit 3
# Needs root (debootstrap, chroot), debootstrap, qemu-user-static + binfmt (scripts/setup.sh),
# python3 with pip, npm, and network access to the Debian mirror, PyPI and npm.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$HERE")/crates/fixtures/sdk-modules
STATE=${EDGECERT_STATE:-/var/tmp/edgecert}
CACHE=$STATE/sdk-modules
log() { printf 'sdk-modules: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SUITE=bookworm
ARCHES=(amd64 armhf)
KINDS=(python node)
# Debian packages on top of minbase, per module kind (comma-separated, debootstrap --include):
# the interpreter and, as the templates' base images have, the CA store (Debian's nodejs warns
# at every start without it).
declare -A DEB_PKGS=([python]=python3,ca-certificates [node]=nodejs,ca-certificates)
# The module sources and pinned dependency sets; all of them go into the cache key.
SOURCES=(python/main.py python/requirements.txt python/image-config.json
         node/app.js node/package.json node/package-lock.json node/image-config.json)
# Bump when changing how a stage builds (its output would change for the same inputs).
DEBIAN_RECIPE=1
MODULE_RECIPE=1

hash16() { sha256sum | cut -c1-16; }
DEBIAN_KEY=$(
  printf 'recipe=%s\nsuite=%s\narches=%s\n' "$DEBIAN_RECIPE" "$SUITE" "${ARCHES[*]}"
  for k in "${KINDS[@]}"; do printf 'pkgs[%s]=%s\n' "$k" "${DEB_PKGS[$k]}"; done
) ; DEBIAN_KEY=$(printf '%s' "$DEBIAN_KEY" | hash16)
KEY=$(
  printf 'recipe=%s\ndebian=%s\n' "$MODULE_RECIPE" "$DEBIAN_KEY"
  for f in "${SOURCES[@]}"; do
    [ -f "$SRC/$f" ] || { log "missing module source $SRC/$f"; exit 1; }
    printf '%s %s\n' "$f" "$(sha256sum <"$SRC/$f" | cut -d' ' -f1)"
  done
) ; KEY=$(printf '%s' "$KEY" | hash16)
OUT=$CACHE/$KEY
DEB_OUT=$CACHE/debian-$DEBIAN_KEY

complete() {
  [ -f "$OUT/.complete" ] || return 1
  local k a
  for k in "${KINDS[@]}"; do
    [ -s "$OUT/module-$k.json" ] || return 1
    for a in "${ARCHES[@]}"; do [ -s "$OUT/rootfs-$k-$a.tar" ] || return 1; done
  done
}

# A cache in use is touched, so pruning (below) keeps it.
if complete; then touch "$OUT" 2>/dev/null || true; echo "$OUT"; exit 0; fi
if [ "${1:-}" = --check ]; then log "not built yet: $OUT (run scripts/sdk-modules.sh)"; exit 3; fi
[ $# -eq 0 ] || die "unknown argument $1 (usage: $0 [--check])"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"

mkdir -p "$CACHE"
# One builder at a time: tests running in parallel may all call this script.
exec 9>"$CACHE/.lock"
flock 9
if complete; then echo "$OUT"; exit 0; fi

# The mirror apt already uses (deb822 sources first, then the one-line format).
MIRROR=$(awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
  /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

host_arch=$(dpkg --print-architecture)
for a in "${ARCHES[@]}"; do
  [ "$a" = "$host_arch" ] || [ -e /proc/sys/fs/binfmt_misc/qemu-arm ] \
    || die "no binfmt handler for $a (run scripts/setup.sh, which enables qemu-arm)"
done
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || die "debootstrap missing (apt-get install debootstrap)"
export PATH=$PATH:/usr/sbin:/sbin

# Work directories live in the cache (same filesystem as the outputs, so `mv` is atomic).
# debootstrap mounts /proc and /sys inside the target; never delete a tree with mounts in it.
WORKS=()
umount_under() {
  local m
  for m in $(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}
cleanup() {
  local w
  for w in "${WORKS[@]}"; do
    [ -d "$w" ] || continue
    umount_under "$w"
    if awk -v p="$w/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
      log "leaving $w: still has mounts"
    else
      rm -rf "$w"
    fi
  done
}
trap cleanup EXIT
# Holding the lock, any work directory left in the cache is from a run that was killed.
for w in "$CACHE"/tmp.*; do [ -d "$w" ] && WORKS+=("$w"); done
cleanup; WORKS=()
# Sets WORK (not printed: a command substitution's subshell would lose the WORKS entry).
new_work() { WORK=$(mktemp -d "$CACHE/tmp.XXXXXX"); WORKS+=("$WORK"); }

# What a layer must not carry: device nodes (an empty /dev), pseudo-filesystem contents, apt
# indexes and caches, the host's resolver and host name.
clean_rootfs() {
  local r=$1
  umount_under "$r"
  find "$r/dev" "$r/proc" "$r/sys" "$r/tmp" -mindepth 1 -delete 2>/dev/null || true
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/debootstrap" "$r/root/.cache"
  find "$r/var/cache/apt/archives" -type f -delete 2>/dev/null || true
  mkdir -p "$r/var/lib/apt/lists/partial" "$r/var/cache/apt/archives/partial"
  : >"$r/etc/resolv.conf"
  echo localhost >"$r/etc/hostname"
  [ -z "$(find "$r" -xdev \( -type b -o -type c -o -type p -o -type s \) -print -quit)" ] \
    || die "$r still has device nodes, fifos or sockets"
}

# A plain tar of the tree, names relative (no ./), sorted, numeric owners.
tar_rootfs() {
  local r=$1 out=$2
  (cd "$r" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z) \
    | tar -C "$r" --null --verbatim-files-from --no-recursion --numeric-owner -T - -cf "$out.tmp"
  mv "$out.tmp" "$out"
}

# Stage 1: Debian minbase + the kind's packages, one tar per (kind, arch).
debian_rootfs() {
  local kind=$1 arch=$2
  local out=$DEB_OUT/$kind-$arch.tar
  [ -s "$out" ] && return 0
  local w r t0=$SECONDS
  new_work; w=$WORK; r=$w/rootfs
  mkdir -p "$CACHE/debs/$arch"
  local args=(--variant=minbase --arch="$arch" --include="${DEB_PKGS[$kind]}" --cache-dir="$CACHE/debs/$arch")
  log "$kind/$arch: debootstrap $SUITE from $MIRROR"
  if [ "$arch" = "$host_arch" ]; then
    debootstrap "${args[@]}" "$SUITE" "$r" "$MIRROR" >"$w/debootstrap.log" 2>&1 \
      || { tail -n 30 "$w/debootstrap.log" >&2; die "$kind/$arch: debootstrap failed"; }
  else
    debootstrap "${args[@]}" --foreign "$SUITE" "$r" "$MIRROR" >"$w/debootstrap.log" 2>&1 \
      || { tail -n 30 "$w/debootstrap.log" >&2; die "$kind/$arch: debootstrap (first stage) failed"; }
    log "$kind/$arch: second stage under qemu (slow)"
    chroot "$r" /debootstrap/debootstrap --second-stage >>"$w/debootstrap.log" 2>&1 \
      || { tail -n 30 "$w/debootstrap.log" >&2; umount_under "$r"; die "$kind/$arch: second stage failed"; }
  fi
  clean_rootfs "$r"
  mkdir -p "$DEB_OUT"
  tar_rootfs "$r" "$out"
  log "$kind/$arch: Debian rootfs done in $((SECONDS - t0)) s ($(du -h "$out" | cut -f1))"
}

# Runs one function per architecture in parallel (amd64 natively, armhf under qemu).
per_arch() {
  local fn=$1 a pids=() failed=0 p
  # Each job cleans up its own work directories (subshells do not inherit the EXIT trap).
  for a in "${ARCHES[@]}"; do ( WORKS=(); trap cleanup EXIT; "$fn" "$a" ) & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ $failed = 0 ] || die "$fn failed"
}
debian_arch() { local k; for k in "${KINDS[@]}"; do debian_rootfs "$k" "$1"; done; }

# Stage 2 inputs, built once on the host: the SDKs are pure Python / pure JS.
stage_python() {
  local py=$1 dest=$2
  local wheels=$dest.wheels
  log "python: pip install -r requirements.txt for Python $py"
  # paho-mqtt 1.6.1 (the SDK needs <2) is published as an sdist only: build its (pure) wheel,
  # then install everything as wheels for any platform, refusing compiled ones.
  local paho
  export PIP_ROOT_USER_ACTION=ignore
  paho=$(grep -E '^paho-mqtt==' "$SRC/python/requirements.txt") || die "requirements.txt must pin paho-mqtt"
  python3 -m pip wheel -q --disable-pip-version-check --no-deps --no-binary :all: -w "$wheels" "$paho" >&2
  python3 -m pip install -q --disable-pip-version-check --no-deps --no-compile \
    --target "$dest" --only-binary=:all: --platform any --implementation py --python-version "$py" \
    --find-links "$wheels" -r "$SRC/python/requirements.txt" >&2
  rm -rf "$wheels" "$dest/bin"
  [ -z "$(find "$dest" -name '*.so' -print -quit)" ] || die "compiled Python extensions in $dest"
}
stage_node() {
  local dest=$1
  log "node: npm ci (azure-iot-device, azure-iot-device-mqtt, azure-iot-device-amqp)"
  mkdir -p "$dest"
  cp "$SRC/node/package.json" "$SRC/node/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  [ -z "$(find "$dest/node_modules" -name '*.node' -print -quit)" ] || die "native Node addons in $dest"
}

# Stage 2: Debian rootfs + SDK + module code, checked inside the rootfs, one tar per (kind, arch).
module_rootfs() {
  local kind=$1 arch=$2
  local out=$WORK_OUT/rootfs-$kind-$arch.tar
  local w r t0=$SECONDS
  new_work; w=$WORK; r=$w/rootfs
  mkdir -p "$r"
  tar -C "$r" --numeric-owner -xpf "$DEB_OUT/$kind-$arch.tar"
  case $kind in
    python)
      # Where Debian's python3 looks for locally installed packages (what `pip install` in a
      # Dockerfile on this base writes); byte-compiled in place as pip would.
      local site=usr/local/lib/python$PY_VERSION/dist-packages
      mkdir -p "$r/$site" "$r/app"
      cp -a "$STAGE/python/." "$r/$site/"
      install -m 0644 "$SRC/python/main.py" "$SRC/python/requirements.txt" "$r/app/"
      chroot "$r" python3 -m compileall -q "/$site" >/dev/null
      local v
      v=$(chroot "$r" python3 -c 'import azure.iot.device.aio; from azure.iot.device.constant import VERSION; print(VERSION)') \
        || die "python/$arch: the SDK does not import"
      log "python/$arch: azure-iot-device $v imports"
      ;;
    node)
      # The template's `USER node`: the official node images' user, uid/gid 1000.
      chroot "$r" groupadd --gid 1000 node
      chroot "$r" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
      mkdir -p "$r/app"
      cp -a "$STAGE/node/." "$r/app/"
      install -m 0644 "$SRC/node/app.js" "$r/app/"
      chroot --userspec=1000:1000 "$r" /bin/sh -c \
        'cd /app && node -e "require(\"azure-iot-device\"); require(\"azure-iot-device-mqtt\"); require(\"azure-iot-device-amqp\"); console.log(require(\"azure-iot-device/package.json\").version)"' \
        >"$w/check.out" || die "node/$arch: the SDK does not load"
      log "node/$arch: azure-iot-device $(cat "$w/check.out") loads ($(chroot "$r" node --version))"
      ;;
  esac
  # The deliberate-crash switch must still crash (proves the entry point starts at all).
  local rc=0 user=0:0
  [ "$kind" = node ] && user=1000:1000  # image-config.json's "node"
  chroot --userspec="$user" "$r" /usr/bin/env EDGECERT_CRASH_ON_START=1 /bin/sh -c "cd /app && $ENTRY_SH" \
    >/dev/null 2>&1 || rc=$?
  [ $rc = 1 ] || die "$kind/$arch: EDGECERT_CRASH_ON_START=1 exited $rc, expected 1"
  clean_rootfs "$r"
  tar_rootfs "$r" "$out"
  log "$kind/$arch: module rootfs done in $((SECONDS - t0)) s ($(du -h "$out" | cut -f1))"
}

T0=$SECONDS
log "building into $OUT (Debian stage: $DEB_OUT)"
per_arch debian_arch

new_work; WORK_OUT=$WORK
STAGE=$WORK_OUT/stage
PY_VERSION=$(tar -tf "$DEB_OUT/python-amd64.tar" | sed -n 's|^usr/lib/python\(3\.[0-9]*\)/os\.py$|\1|p')
[ -n "$PY_VERSION" ] || die "no Python in $DEB_OUT/python-amd64.tar"
stage_python "$PY_VERSION" "$STAGE/python"
stage_node "$STAGE/node"

# The image config per kind (<kind>/image-config.json: what the templates' Dockerfiles set:
# WORKDIR /app, CMD, the Node template's USER node; the Python template sets no USER, so root).
for k in "${KINDS[@]}"; do cp "$SRC/$k/image-config.json" "$WORK_OUT/module-$k.json"; done

module_arch() {
  local k
  for k in "${KINDS[@]}"; do
    ENTRY_SH=$(python3 -c 'import json, shlex, sys; print(shlex.join(json.load(open(sys.argv[1]))["cmd"]))' \
      "$SRC/$k/image-config.json")
    module_rootfs "$k" "$1"
  done
}
per_arch module_arch

rm -rf "$STAGE"
{
  printf 'key %s\ndebian key %s\nsuite %s\nmirror %s\npython %s\n' "$KEY" "$DEBIAN_KEY" "$SUITE" "$MIRROR" "$PY_VERSION"
  for k in "${KINDS[@]}"; do printf 'packages[%s] %s\n' "$k" "${DEB_PKGS[$k]}"; done
  (cd "$SRC" && sha256sum "${SOURCES[@]}")
} >"$WORK_OUT/inputs.txt"
touch "$WORK_OUT/.complete"
rm -rf "$OUT"
mv "$WORK_OUT" "$OUT"
chmod 755 "$OUT"
touch "$DEB_OUT"
# Builds for other inputs (older sources, other clones) not used for two days go.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d \( -name 'debian-*' -o -regex '.*/[0-9a-f]\{16\}' \) \
  ! -path "$OUT" ! -path "$DEB_OUT" -mtime +1 -print -exec rm -rf {} + | sed 's/^/sdk-modules: pruned /' >&2
log "done in $((SECONDS - T0)) s"
echo "$OUT"
