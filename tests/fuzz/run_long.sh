#!/usr/bin/env bash
# Long fuzzing on demand (README.md here): each target in turn, one process at a time (the
# machine has two cores and other users).
#
#   tests/fuzz/run_long.sh [DURATION] [TARGET...]
#
# DURATION per target: minutes (default 10), or seconds with an "s" suffix ("90s").
# TARGETs default to all five. Needs a built build-fuzz/ (./deploy/klaxon.sh fuzz; or set
# KLAXON_FUZZ_BUILD to another fuzz build directory). Per target it keeps:
#   build-fuzz/corpus-<target>/        the corpus it grows, kept between runs (seeds from
#                                      build-fuzz/seeds/<target>/ are read, never written)
#   build-fuzz/fuzz-crashes/<target>/  crash-*, leak-*, timeout-*, oom-* reproducers
#   build-fuzz/fuzz-logs/<target>.log  libFuzzer's output
# Exit status 1 when any target found something.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${KLAXON_FUZZ_BUILD:-$root/build-fuzz}"
duration="${1:-10}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(framing_fuzz syslog_parse_fuzz json_map_fuzz message_fuzz cef_fuzz)

case "$duration" in
  *s) seconds="${duration%s}" ;;
  *) seconds=$((duration * 60)) ;;
esac
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -le 0 ]; then
  echo "run_long.sh: duration '$duration' is neither minutes nor seconds (90s)" >&2
  exit 2
fi
if [ ! -x "$build/tests/fuzz/klaxon_fuzz_seed_tool" ]; then
  echo "run_long.sh: no fuzz build in $build (run ./deploy/klaxon.sh fuzz first)" >&2
  exit 2
fi
if [ ! -d "$build/seeds/${targets[0]}" ]; then
  bash "$here/make_seeds.sh" "$build/tests/fuzz/klaxon_fuzz_seed_tool" "$build/seeds" >/dev/null
fi

found=0
mkdir -p "$build/fuzz-logs"
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  if [ ! -x "$bin" ]; then
    echo "run_long.sh: $bin is not built" >&2
    exit 2
  fi
  corpus="$build/corpus-$t"
  crashes="$build/fuzz-crashes/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$crashes"
  marker="$(mktemp)"  # reproducers newer than this are this run's
  echo "==> $t for ${seconds}s (corpus $corpus, log $log)"
  # A crash ends the run early with status != 0; that is reported below, not fatal here.
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "$build/seeds/$t" >"$log" 2>&1 || true
  # libFuzzer's last status line: "#runs DONE cov: N ft: M corp: ..." (or the last pulse).
  grep -E '^#[0-9]+' "$log" | tail -1 | sed 's/^/    /'
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
    sed 's/^/    /'
  new="$(find "$crashes" -type f -newer "$marker")"
  rm -f "$marker"
  if [ -n "$new" ]; then
    found=1
    echo "    FOUND in $crashes:"
    echo "$new" | sed 's/^/      /'
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant failed|.*runtime error)' "$log" |
      head -5 | sed 's/^/    /'
  fi
done
exit "$found"
