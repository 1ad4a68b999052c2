#!/usr/bin/env bash
# Installs the Debian packages faultline needs to build, test and run; only what is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libcurl4-openssl-dev libyaml-cpp-dev libboost-dev libboost-filesystem-dev
  catch2 nlohmann-json3-dev libsimdjson-dev libcli11-dev libcadical-dev
  openssh-client openssh-server
  etcd-server etcd-client iptables iproute2 procps psmisc libfaketime faketime
  libpq-dev postgresql libfuse3-dev fuse3
  redis-server redis-sentinel libhiredis-dev
  mariadb-server galera-4 rsync libmariadb-dev  # the declared-target proof: MariaDB Galera, driven by a spec
  chromium
  clang libclang-rt-14-dev  # make fuzz: libFuzzer and the sanitizer runtimes
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "faultline: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "faultline: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Servers faultline tests (etcd, PostgreSQL, Redis, MariaDB) are started by faultline inside its own
# namespaces; keep their packages from starting host-wide services at install (Debian's
# policy-rc.d mechanism), unless the host already has a policy of its own.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
