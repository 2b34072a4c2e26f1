#!/bin/sh
# Installs Debian's chromium for the dashboard's browser test. Idempotent: nothing happens when
# it is installed already, and `apt-get update` runs only when it is missing.
set -eu

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "install-chromium: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

if command -v chromium >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no apt-get here; not installing chromium (the browser test will be skipped)" >&2
  exit 0
fi
echo "install-chromium: installing chromium" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
