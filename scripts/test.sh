#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: once in a release build
# with warnings as errors, once under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage: scripts/test.sh [--skip-install] [--skip-sanitizers]
set -euo pipefail
cd "$(dirname "$0")/.."

skip_install=0
skip_sanitizers=0
for arg in "$@"; do
  case "$arg" in
    --skip-install) skip_install=1 ;;
    --skip-sanitizers) skip_sanitizers=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

[ "$skip_install" -eq 1 ] || scripts/install-deps.sh

jobs=$(nproc)
echo "== release build (-Werror) =="
# -g1 (line tables: backtraces keep file and line) builds about 30% faster than -g.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTKEEPER_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
cmake --build build -j "$jobs"
echo "== tests (release) =="
(cd build && ctest -j "$jobs" --output-on-failure)

if [ "$skip_sanitizers" -eq 0 ]; then
  echo "== sanitizer build (ASan + UBSan) =="
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCERTKEEPER_WERROR=ON \
    -DCERTKEEPER_SANITIZE=ON -DCERTKEEPER_BUILD_BENCH=OFF
  cmake --build build-asan -j "$jobs"
  echo "== tests (sanitizers) =="
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j "$jobs" --output-on-failure)
fi
