#!/usr/bin/env bash
# Checks for, and where it can installs, what Weir's build and tests need:
# Go 1.26+, Java 17+ and Maven (for the real Kafka broker fetched from Maven Central), the
# broker's jars themselves, and Chromium for the dashboard's browser test. etcd needs nothing:
# the weir-dev tool embeds the real etcd server.
# Installs with apt-get only when running as root on Debian/Ubuntu; otherwise says what to do.
set -euo pipefail
. "$(dirname "$0")/common.sh"

apt_updated=
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

problems=()

# Go
if ! command -v go >/dev/null; then
  problems+=("Go 1.26 or newer is required: see https://go.dev/doc/install")
else
  gov=$(go env GOVERSION | sed 's/^go//')
  major=${gov%%.*}; rest=${gov#*.}; minor=${rest%%.*}
  if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 26 ]; }; then
    problems+=("Go 1.26 or newer is required (found go$gov)")
  fi
fi

# Java 17+
if [ "$(java_major)" -lt 17 ]; then
  apt_install openjdk-17-jre-headless || true
  [ "$(java_major)" -ge 17 ] || problems+=("Java 17 or newer is required for the Kafka broker (Debian: apt-get install openjdk-17-jre-headless; or set JAVA_HOME)")
fi

# Maven (only needed while the broker jars are not cached yet)
if [ ! -f "$KAFKA_HOME/.complete" ] && ! command -v mvn >/dev/null; then
  apt_install maven || true
  command -v mvn >/dev/null || problems+=("Maven is required once, to fetch the Kafka broker from Maven Central (Debian: apt-get install maven)")
fi

# Chromium for the dashboard's browser test (Debian's package; the test looks for
# /usr/bin/chromium or $WEIR_CHROMIUM).
if ! command -v chromium >/dev/null && [ -z "${WEIR_CHROMIUM:-}" ]; then
  apt_install chromium fonts-dejavu-core || true
  if ! command -v chromium >/dev/null; then
    if [ "${CI:-}" = true ]; then
      problems+=("Chromium is required for the browser test under CI (Debian: apt-get install chromium fonts-dejavu-core)")
    else
      say "note: Chromium not found; the browser test will be skipped (Debian: apt-get install chromium fonts-dejavu-core)"
    fi
  fi
fi

# curl: the demo test runs the curl command `make demo` prints.
if ! command -v curl >/dev/null; then
  apt_install curl || true
  command -v curl >/dev/null || problems+=("curl is required by the demo test (Debian: apt-get install curl)")
fi

if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do echo "ensure-deps: $p" >&2; done
  exit 1
fi

"$(dirname "$0")/kafka.sh" fetch
say "ok: $(go env GOVERSION), Java $(java_major), Kafka $KAFKA_VERSION jars in $KAFKA_HOME"
