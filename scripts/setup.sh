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

need_pkgs=(docker.io skopeo docker-registry qemu-user-static binfmt-support busybox-static
           apache2-utils gzip ca-certificates iproute2 procps)
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

if [ ${#missing[@]} -gt 0 ] || [ $arch_added = 1 ] || [ $have_bb = 0 ]; then
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

cat >"$STATE/env" <<ENV
export EDGECERT_BUSYBOX_DIR=$BB
export EDGECERT_TEST_REGISTRY=127.0.0.1:$REG_PORT
ENV
log "ready (source $STATE/env)"
