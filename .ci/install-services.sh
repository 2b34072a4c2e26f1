#!/bin/sh
# Installs the real servers the integration tests start on free ports of their own:
# redis-server and PostgreSQL from Debian's packages (.ci/install-chromium.sh installs the
# browser for the dashboard test). Idempotent: `apt-get update` runs only
# when a package is missing, and the system services Debian starts on install are stopped,
# because tests never use them (and they would hold 6379/5432, which are inside default ranges).
set -eu

PACKAGES="redis-server postgresql"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "install-services: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

missing=""
for pkg in $PACKAGES; do
  if ! command -v dpkg-query >/dev/null 2>&1 || ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $pkg"
  fi
done

if [ -n "$missing" ] && ! command -v apt-get >/dev/null 2>&1; then
  # Not Debian: the tests that need these servers skip with a printed reason.
  echo "install-services: no apt-get here; not installing$missing (their tests will be skipped)" >&2
  exit 0
fi

if [ -n "$missing" ]; then
  echo "install-services: installing$missing" >&2
  # policy-rc.d exit 101 keeps Debian's maintainer scripts from starting the services at all.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created_policy=1
    trap 'as_root rm -f "$policy"' EXIT
  fi
  # Another install (CI step, colleague) may hold the dpkg lock: wait for it instead of failing.
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
else
  echo "install-services: redis-server and postgresql already installed" >&2
fi

# Services that did start anyway (systemd hosts, earlier installs) are stopped; tests start their own.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  as_root systemctl stop redis-server postgresql >/dev/null 2>&1 || true
  as_root systemctl disable redis-server postgresql >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  as_root service redis-server stop >/dev/null 2>&1 || true
  as_root service postgresql stop >/dev/null 2>&1 || true
fi

command -v redis-server >/dev/null 2>&1 || { echo "install-services: redis-server not on PATH after install" >&2; exit 1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "install-services: initdb not found under /usr/lib/postgresql/*/bin" >&2; exit 1; }
echo "install-services: ready ($(redis-server --version | cut -d' ' -f3), postgres $(ls /usr/lib/postgresql | tr '\n' ' '))" >&2
