#!/bin/sh
# Stops what .ci/docker-up.sh started: the test containers (label or name ports-test) and the
# dockerd whose PID it recorded. An engine that was already running is left alone.
set -u

STATE_DIR=${PORTS_DOCKER_STATE_DIR:-/tmp/ports-ci-docker}
say() { echo "docker-down: $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

pid=$(cat "$STATE_DIR/dockerd.pid" 2>/dev/null) || { say "no dockerd started by docker-up.sh; nothing to stop"; exit 0; }
# A PID file that outlived its daemon may name a reused PID: only ever signal a dockerd.
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
  say "dockerd ($pid) from docker-up.sh is no longer running"
  rm -f "$STATE_DIR/dockerd.pid" "$STATE_DIR/status"
  exit 0
fi

if docker info >/dev/null 2>&1; then
  ids=$(docker ps -aq --filter label=ports-test 2>/dev/null)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
fi

if kill -0 "$pid" 2>/dev/null; then
  as_root kill "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]; do sleep 1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd ($pid) did not stop in 20 s; killing it"
    as_root kill -9 "$pid" 2>/dev/null
  fi
  say "stopped dockerd ($pid)"
fi
rm -f "$STATE_DIR/dockerd.pid" "$STATE_DIR/status"
exit 0
