#!/bin/sh
# Starts a real Docker engine for the Compose integration tests, without any registry:
# installs Debian's docker.io, docker-compose (v1) and busybox-static when missing, starts
# dockerd in the background (unless an engine already answers), and builds the test image
# ports-test/busybox:local by `docker import` of a rootfs holding busybox-static.
#
# Never fails the build: when no engine can start here it prints why and exits 0; the tests
# then skip with that reason (test/helpers/docker.ts reads it from $STATE_DIR/status).
# .ci/docker-down.sh stops the daemon this script started, and only that one.
set -u

STATE_DIR=${PORTS_DOCKER_STATE_DIR:-/tmp/ports-ci-docker}
IMAGE=ports-test/busybox:local
PACKAGES="docker.io docker-compose busybox-static"
mkdir -p "$STATE_DIR"

say() { echo "docker-up: $*" >&2; }
give_up() {
  say "no Docker engine: $*"
  printf 'unavailable: %s\n' "$*" >"$STATE_DIR/status"
  exit 0
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

engine_answers() { docker info >/dev/null 2>&1; }

missing=""
for pkg in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  say "installing$missing"
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    # exit 101: Debian's maintainer scripts must not start dockerd/containerd as services.
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy"
    trap 'as_root rm -f "$policy"' EXIT
  fi
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >"$STATE_DIR/apt.log" 2>&1 \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >>"$STATE_DIR/apt.log" 2>&1 \
    || give_up "apt-get install$missing failed (see $STATE_DIR/apt.log)"
fi
PATH="$PATH:/usr/sbin:/sbin"
command -v docker >/dev/null 2>&1 || give_up "no docker CLI after install"

# Waits up to $1 seconds for the engine; fails early when the daemon died.
wait_for_engine() {
  i=0
  while [ "$i" -lt "$1" ]; do
    engine_answers && return 0
    kill -0 "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null || return 1
    sleep 1
    i=$((i + 1))
  done
  return 1
}

stop_ours() {
  pid=$(cat "$STATE_DIR/dockerd.pid" 2>/dev/null) || return 0
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || { rm -f "$STATE_DIR/dockerd.pid"; return 0; }
  as_root kill "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]; do sleep 1; i=$((i + 1)); done
  as_root kill -9 "$pid" 2>/dev/null
  rm -f "$STATE_DIR/dockerd.pid"
}

if engine_answers; then
  say "an engine already answers; using it"
else
  command -v dockerd >/dev/null 2>&1 || give_up "no dockerd binary"
  # Sandboxes differ: the defaults (iptables NAT, overlay2) first, then without iptables
  # (published ports still work through docker-proxy), then the vfs storage driver, which
  # needs no overlay mounts. --bridge=none would lose published ports, so it is not tried.
  started=""
  for flags in "" "--iptables=false --ip6tables=false" "--iptables=false --ip6tables=false --storage-driver=vfs"; do
    say "starting dockerd ${flags:-(default options)}"
    # shellcheck disable=SC2086
    # From /, so neither dockerd nor its docker-proxy children keep a work folder busy.
    as_root sh -c 'cd /; nohup dockerd '"$flags"' >"$1" 2>&1 & echo $! >"$2"' sh "$STATE_DIR/dockerd.log" "$STATE_DIR/dockerd.pid" \
      || give_up "cannot start dockerd (need root)"
    if wait_for_engine 30; then
      started="$flags"
      break
    fi
    say "dockerd ${flags:-(default options)} did not come up; last log lines:"
    tail -5 "$STATE_DIR/dockerd.log" >&2
    stop_ours
  done
  [ -n "$started" ] || engine_answers || give_up "dockerd did not start with any option set (log: $STATE_DIR/dockerd.log)"
  say "engine up ($(docker version --format '{{.Server.Version}}' 2>/dev/null), ${started:-default options})"
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  busybox=$(command -v busybox || echo /bin/busybox)
  [ -x "$busybox" ] || give_up "busybox-static not found"
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
  cp "$busybox" "$rootfs/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  echo 'ports-test' >"$rootfs/www/index.html"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$IMAGE" >/dev/null \
    || { rm -rf "$rootfs"; give_up "docker import of $IMAGE failed"; }
  rm -rf "$rootfs"
  say "imported $IMAGE"
fi

echo ok >"$STATE_DIR/status"
say "ready"
