#!/usr/bin/env bash
# klaxon's developer entry point. The README's two commands:
#   ./deploy/klaxon.sh run     install what is missing, build (Release), start klaxond on its
#                              embedded default configuration, data under ./data
#   ./deploy/klaxon.sh test    install what is missing, build, run the whole test suite
#                              (Release, then ASan+UBSan, then 5 s of libFuzzer per parser)
# Other verbs: deps, build, bench, asan-test, fuzz. Everything comes from Debian's packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
jobs="${KLAXON_JOBS:-2}"   # 2 cores: two compile jobs, not more

build_pkgs=(g++ cmake ninja-build pkg-config ccache libboost-dev libboost-program-options-dev
  libsimdjson-dev librdkafka-dev librocksdb-dev libssl-dev prometheus-cpp-dev libyaml-cpp-dev libzstd-dev
  libsystemd-dev libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev libc-ares-dev libcurl4-openssl-dev)
# Real peers the tests talk to: syslog-ng and logger as syslog clients, promtool for the
# metrics lint, openssl s_client for TLS, kcat as an independent Kafka producer.
test_pkgs=(syslog-ng-core bsdutils prometheus openssl procps kcat systemd dnsmasq-base python3-aiosmtpd)
# libFuzzer: clang and its runtime libraries (tests/fuzz/).
fuzz_pkgs=(clang libclang-rt-14-dev)

log() { printf '==> %s\n' "$*" >&2; }

# libFuzzer targets (tests/fuzz/README.md) with clang in build-fuzz/: only the fuzz targets
# are built there; CTest makes seeds from ../shared/corpus and runs each target for 5 s.
# Longer runs: tests/fuzz/run_long.sh.
run_fuzz() {
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DKLAXON_FUZZ=ON -DKLAXON_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build build-fuzz -j "$jobs" --target klaxon_fuzzers
  (cd build-fuzz && ctest -L fuzz --output-on-failure)
}

install_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Services some packages would start (prometheus, syslog-ng) are not wanted here.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_build() {  # dir, extra cmake args...
  local dir="$1"; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  fi
  cmake --build "$dir" -j "$jobs"
}

case "${1:-}" in
  deps)
    install_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}"
    ;;
  build)
    install_pkgs "${build_pkgs[@]}"
    configure_build build -DCMAKE_BUILD_TYPE=Release
    ;;
  run)
    shift
    install_pkgs "${build_pkgs[@]}"
    configure_build build -DCMAKE_BUILD_TYPE=Release
    log "starting klaxond (syslog tcp+udp :5514, http 127.0.0.1:9780, data in ./data)"
    exec ./build/daemon/klaxond "$@"
    ;;
  test)
    install_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}"
    configure_build build -DCMAKE_BUILD_TYPE=Release
    log "test suite (Release)"
    (cd build && ctest --output-on-failure -j "$jobs" --timeout 600)
    log "the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
    configure_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKLAXON_SANITIZE=ON -DKLAXON_BUILD_BENCH=OFF
    (cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 600)
    log "a short libFuzzer run of every parser (5 s each)"
    install_pkgs "${fuzz_pkgs[@]}"
    run_fuzz
    ;;
  asan-test)
    install_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}"
    configure_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKLAXON_SANITIZE=ON -DKLAXON_BUILD_BENCH=OFF
    (cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 600)
    ;;
  fuzz)
    install_pkgs "${build_pkgs[@]}" "${fuzz_pkgs[@]}"
    run_fuzz
    ;;
  bench)
    install_pkgs "${build_pkgs[@]}" curl
    configure_build build -DCMAKE_BUILD_TYPE=Release
    shift
    exec ./bench/run.sh "$@"
    ;;
  *)
    echo "usage: $0 run|test|deps|build|bench|asan-test|fuzz" >&2
    exit 2
    ;;
esac
