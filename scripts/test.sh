#!/usr/bin/env bash
# The test command: install what is missing, build with warnings as errors,
# run the whole test suite (unit + integration on real SoftHSM2 tokens, real
# LMDB files, real TLS sockets on 127.0.0.1), then the token suites on NSS's
# softoken (scripts/nss-tests.sh). After the build it prints the
# code-shape warning list (scripts/code-shape.py; never fails the run).
#
#   ./scripts/test.sh            release preset (the CI run)
#   PRESET=asan ./scripts/test.sh   the same suite under ASan + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-release}"
# ccache keys on paths relative to the checkout, so every clone shares one cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1

bash deploy/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
# Function and class sizes over the project's limits: a warning list, never a failure.
python3 scripts/code-shape.py || echo "test.sh: code-shape could not run (warning only)" >&2
ctest --preset "$preset" -j "$(nproc)" --timeout 300
# The hsm, ca and node suites again on a second PKCS#11 implementation (NSS's softoken).
bash scripts/nss-tests.sh "build/$preset"
# Every libFuzzer target a few seconds on its corpus, under ASan + UBSan (docs/testing.md).
bash scripts/fuzz.sh --smoke
