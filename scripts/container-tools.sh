#!/usr/bin/env bash
# container-tools.sh - build and run this action's Docker image like a GitHub runner, with or without a Docker daemon.
#
# Approach
#   * If `docker info` answers (a real CI machine), every subcommand uses plain `docker`.
#   * Otherwise (this workplace: root, no daemon, no registry but Debian/PyPI/npm) it uses Debian's buildah to build
#     and podman to run, sharing /var/lib/containers/storage. Base images cannot be pulled, so `base` makes a local
#     stand-in for python:3.13-slim: `debootstrap --variant=minbase trixie` (Debian 13, Python 3.13), trimmed, with
#     python/python3/pip on /usr/local/bin, LANG=C.UTF-8, CMD python3, and this machine's CA bundle (the package
#     proxy inspects TLS) in /etc/ssl/certs plus ENV PIP_CERT. The CA never goes into the project's Dockerfile.
#     Like the official image (whose Dockerfile deletes them after building Python), the stand-in has no bytecode
#     and no test folders anywhere in its Python: a run that imports an uncompiled module pays for compiling it
#     there too, so times measured on the stand-in are the times users get. The stand-in carries a version label
#     (STANDIN_VERSION); a base built by an older version of this script is rebuilt.
#   * Builds use `buildah bud --isolation chroot --pull=never` (needs default_ulimits = [] in containers.conf);
#     runs use `podman run --rm --network host` with runc + cgroupfs (crun fails on this hybrid cgroup setup).
#   * Host networking lets the container reach a test server on the host's 127.0.0.1.
# Caches (kept per machine, rebuilt when missing): /var/cache/recoup-session-action (override: RECOUP_CONTAINER_CACHE).
# Engine override: CONTAINER_ENGINE=docker|podman.
#
# Usage
#   container-tools.sh install              # apt-get what is missing, write containers.conf, print env lines
#   container-tools.sh base                 # ensure image python:3.13-slim exists locally (~1-2 min first time)
#   container-tools.sh build CONTEXT TAG    # prints build_seconds=, image_bytes=, base_bytes= on stdout (log: stderr)
#   container-tools.sh run [RUN-OPTIONS...] IMAGE [ARGS...]
#       = `<engine> run --rm --network host --pull=never RUN-OPTIONS... IMAGE ARGS...`; exit code is the container's.
#       Runner-like: run --workdir /github/workspace -e INPUT_API-KEY -e HOME -e CI=true -e GITHUB_ACTIONS=true \
#         -v T/_github_home:/github/home -v T/_github_workflow:/github/workflow \
#         -v T/_runner_file_commands:/github/file_commands -v CHECKOUT:/github/workspace IMAGE
#       `-e NAME` (no value) copies NAME from this process's environment, so hyphenated names work when the caller
#       puts them in the environment (e.g. subprocess env={"INPUT_API-KEY": ...}); `-e 'INPUT_API-KEY=v'` works too.
#   container-tools.sh size IMAGE           # image size in bytes
#   container-tools.sh rmi IMAGE            # remove an image (ignores a missing one)
set -euo pipefail

CACHE=${RECOUP_CONTAINER_CACHE:-/var/cache/recoup-session-action}
CONF=$CACHE/containers.conf
ROOTFS=$CACHE/rootfs-trixie
BASE=docker.io/library/python:3.13-slim
STANDIN_VERSION=2  # 2: no bytecode, no test folders (as python:3.13-slim); 1 kept Debian's bytecode
STANDIN_LABEL=org.recoup.stand-in.version
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$CONF}

log() { echo "container-tools: $*" >&2; }
die() { log "$*"; exit 2; }

engine() {
  if [[ -z ${CONTAINER_ENGINE:-} ]]; then
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
      CONTAINER_ENGINE=docker
    else
      CONTAINER_ENGINE=podman
    fi
  fi
  echo "$CONTAINER_ENGINE"
}

cmd_install() {
  if [[ $(engine) == docker ]]; then echo "CONTAINER_ENGINE=docker"; return; fi
  local pkgs=(buildah podman runc uidmap debootstrap) missing=() p
  mkdir -p "$CACHE"
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (log: $CACHE/apt.log)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >"$CACHE/apt.log" 2>&1 || { cat "$CACHE/apt.log" >&2; die "apt-get failed"; }
  fi
  # default_ulimits: the VM refuses the default nofile/nproc limits; runc+cgroupfs: crun rejects hybrid cgroups.
  cat >"$CONF.tmp" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  mv "$CONF.tmp" "$CONF"
  echo "CONTAINER_ENGINE=podman"
  echo "CONTAINERS_CONF=$CONF"
}

image_exists() {
  if [[ $(engine) == docker ]]; then docker image inspect "$1" >/dev/null 2>&1
  else podman image exists "$1"; fi
}

cmd_size() {
  [[ $# -eq 1 ]] || die "usage: size IMAGE"
  "$(engine)" image inspect --format '{{.Size}}' "$1"
}

ensure_tools() { [[ $(engine) == docker || -f $CONF ]] || cmd_install >/dev/null; }

cmd_base() {
  if [[ $(engine) == docker ]]; then return; fi  # a real Docker pulls python:3.13-slim itself
  ensure_tools
  base_locked 9>"$CACHE/base.lock"  # the lock is held only while the stand-in is checked/built
}

base_locked() {
  flock 9
  if image_exists "$BASE"; then
    local version
    version=$(podman image inspect --format "{{ index .Labels \"$STANDIN_LABEL\" }}" "$BASE" 2>/dev/null || true)
    if [[ $version == "$STANDIN_VERSION" ]]; then log "$BASE present (stand-in version $version)"; return; fi
    log "$BASE is stand-in version ${version:-1}, not $STANDIN_VERSION: rebuilding it"
  fi
  local t0=$SECONDS
  if [[ ! -f $ROOTFS.ok ]]; then
    log "debootstrap trixie into $ROOTFS (about a minute)"
    rm -rf "$ROOTFS" "$ROOTFS.tmp"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
      trixie "$ROOTFS.tmp" >&2
    (
      cd "$ROOTFS.tmp"
      rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/*.log \
        usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/*
      rm -f usr/lib/python3*/EXTERNALLY-MANAGED  # the official image lets pip install system-wide
      : >etc/resolv.conf
      for p in python python3; do ln -sf /usr/bin/python3 "usr/local/bin/$p"; done
      for p in pip pip3; do ln -sf /usr/bin/pip3 "usr/local/bin/$p"; done
    )
    mv "$ROOTFS.tmp" "$ROOTFS"
    touch "$ROOTFS.ok"
  fi
  local ctr mnt pyver
  ctr=$(buildah from --pull=never scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$ROOTFS" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . | tar -C "$mnt" -xpf -
  # As python:3.13-slim's Dockerfile does to /usr/local: no test folders, no bytecode, no static libpython.
  find "$mnt/usr/lib/python3" "$mnt"/usr/lib/python3.* -depth \
    \( \( -type d -a \( -name test -o -name tests -o -name idle_test -o -name __pycache__ \) \) \
    -o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) -exec rm -rf '{}' +
  # The package proxy's CA: keep Debian's roots and add this machine's bundle (duplicates are harmless).
  cat "$ROOTFS/etc/ssl/certs/ca-certificates.crt" "$CA_BUNDLE" >"$mnt/etc/ssl/certs/ca-certificates.crt"
  pyver=$(chroot "$mnt" python3 -B -c 'import platform; print(platform.python_version())')
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --env PYTHON_VERSION="$pyver" --env PIP_CERT=/etc/ssl/certs/ca-certificates.crt --cmd '["python3"]' \
    --label org.recoup.stand-in="debootstrap trixie" --label "$STANDIN_LABEL=$STANDIN_VERSION" "$ctr"
  buildah commit --quiet --format docker --rm "$ctr" "$BASE" >/dev/null
  buildah tag "$BASE" localhost/python:3.13-slim
  log "built stand-in $BASE (Python $pyver) in $((SECONDS - t0)) s"
}

cmd_build() {
  [[ $# -ge 2 ]] || die "usage: build CONTEXT TAG [extra build args]"
  local ctx=$1 tag=$2 t0 t1
  shift 2
  cmd_base
  t0=$(date +%s.%N)
  if [[ $(engine) == docker ]]; then
    docker build -t "$tag" "$@" "$ctx" >&2
  else
    buildah bud --isolation chroot --pull=never --format docker --layers -t "$tag" "$@" "$ctx" >&2
  fi
  t1=$(date +%s.%N)
  echo "build_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  echo "image_bytes=$(cmd_size "$tag")"
  echo "base_bytes=$(cmd_size python:3.13-slim 2>/dev/null || echo unknown)"
}

cmd_run() {
  [[ $# -ge 1 ]] || die "usage: run [RUN-OPTIONS...] IMAGE [ARGS...]"
  ensure_tools
  exec "$(engine)" run --rm --network host --pull=never "$@"
}

cmd_rmi() {
  [[ $# -eq 1 ]] || die "usage: rmi IMAGE"
  if image_exists "$1"; then "$(engine)" rmi -f "$1" >/dev/null; fi
}

sub=${1:-}
shift || true
CONTAINER_ENGINE=$(engine)  # decide once (docker info can be slow)
case $sub in
  install) cmd_install ;;
  base) cmd_base ;;
  build) cmd_build "$@" ;;
  run) cmd_run "$@" ;;
  size) cmd_size "$@" ;;
  rmi) cmd_rmi "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
