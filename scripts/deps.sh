#!/usr/bin/env bash
# Installs the Debian 12 packages hl7flow needs to build, test and run its
# demo. Idempotent: runs apt-get only when a package is missing, so `make test`
# and `make demo` stay fast on a machine that already has everything.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang llvm
  librdkafka-dev libavro-dev libjansson-dev libcurl4-openssl-dev
  libmicrohttpd-dev libssl-dev libpq-dev librocksdb-dev libcmocka-dev libicu-dev libevent-dev
  postgresql-15 postgresql-client-15
  python3 python3-hl7 python3-confluent-kafka python3-avro python3-requests python3-yaml
  valgrind curl procps
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
