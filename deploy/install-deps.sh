#!/usr/bin/env bash
# Installs every Debian 12 package medledger needs to build, test and run.
# Idempotent: packages already present are skipped; apt-get update runs only
# when something is missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # PKCS#11: standard header, test token, interop client
  libp11-kit-dev softhsm2 opensc
  # a second PKCS#11 implementation for the tests: NSS's softoken and certutil for its database
  libnss3 libnss3-tools
  # OpenSSL 3: X.509, TLS, AES-GCM, HKDF, scrypt; the openssl CLI for interop tests
  libssl-dev openssl
  # Boost 1.81 (Beast/Asio, JSON, URL) -- never the 1.74 -dev packages
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  # storage, CLI, config, logs
  liblmdb-dev lmdb-utils libcli11-dev libtoml11-dev libspdlog-dev
  # allocator: cross-thread frees (callers -> ledger writer, SoftHSM2) cost 13% under glibc
  libjemalloc-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # HTTPS client for integration tests and the demo
  curl
  # etcd 3.4: a consortium's ordering service; the cluster tests start real members on
  # free ports. The package also enables etcd.service on 2379/2380: medledger never uses
  # that default unit (each hospital runs deploy/etcd-member.service instead).
  etcd-server etcd-client
  # hex <-> binary in the demo and the interop test; the deploy test's file-holding helper
  xxd python3
  # scripts/code-shape.py: function extents (start and end lines) for the size report
  universal-ctags
  # scripts/fuzz.sh: libFuzzer targets under ASan + UBSan (the fuzz preset, docs/testing.md)
  clang-14 libfuzzer-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
