#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into OUT_DIR/<target>/, afresh, from the public
# test data (../shared/corpus; KLAXON_CORPUS overrides). CTest runs it as the fixture of
# `ctest -L fuzz`; nothing it writes belongs in the repository. Needs bash, coreutils, sed,
# awk and the seed tool built beside the targets (a fresh Debian 12 has no python3 or jq).
#
#   make_seeds.sh SEED_TOOL OUT_DIR [CORPUS]
#
# framing_fuzz       framing streams (go-syslog octet-counting / non-transparent, Vector's
#                    octet-counting steps), syslog lines joined LF-framed and octet-counted,
#                    the naughty strings as one stream; each behind the target's 5-byte header
#                    (options and read sizes, see framing_fuzz.cc)
# syslog_parse_fuzz  the "input" of every syslog vector (go-syslog, syslog-loose, Vector/VRL)
#                    and every naughty string
# json_map_fuzz      JSONTestSuite's test_parsing, Suricata EVE lines (dcso-fever-eve), the
#                    naughty strings as one JSON array and each one as a "message" value
# message_fuzz       all of the above as messages, EVE in RFC 5424 and RFC 3164 envelopes, and
#                    alert records and blocks (stored and zstd) made from the syslog vectors
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SEED_TOOL OUT_DIR [CORPUS]" >&2
  exit 2
fi
tool="$1"
out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="${KLAXON_CORPUS:-${3:-$here/../../../shared/corpus}}"
vec="$corpus/vectors"
blns="$corpus/big-list-of-naughty-strings/blns.txt"
for need in "$vec" "$corpus/JSONTestSuite/test_parsing" "$blns"; do
  if [ ! -e "$need" ]; then
    echo "make_seeds.sh: $need is missing (set KLAXON_CORPUS to the test corpus)" >&2
    exit 1
  fi
done

framing="$out/framing_fuzz"
syslog="$out/syslog_parse_fuzz"
json="$out/json_map_fuzz"
message="$out/message_fuzz"
for d in "$framing" "$syslog" "$json" "$message"; do
  rm -rf "$d"
  mkdir -p "$d"
done

syslog_vectors=("$vec"/go-syslog/*.jsonl "$vec"/syslog-loose/*.jsonl "$vec"/vector-vrl/syslog.jsonl)
eve="$vec/dcso-fever-eve/eve.jsonl"

# ---- syslog_parse_fuzz
"$tool" inputs "$syslog" vec "${syslog_vectors[@]}"
# One seed per naughty string (its comment lines and blank lines left out).
awk -v dir="$syslog" '!/^#/ && NF { f = sprintf("%s/blns-%04d", dir, NR); printf "%s", $0 > f; close(f) }' \
  "$blns"

# ---- json_map_fuzz
cp "$corpus"/JSONTestSuite/test_parsing/*.json "$json"/
"$tool" inputs "$json" eve "$eve"
cp "$corpus/big-list-of-naughty-strings/blns.json" "$json/blns.json"
# Each naughty string as a JSON string value ('\' and '"' escaped, tabs and CRs dropped).
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$blns" | tr -d '\t\r' |
  awk -v dir="$json" '!/^#/ && NF { f = sprintf("%s/blns-%04d", dir, NR); printf "{\"message\":\"%s\",\"rule\":{\"name\":\"%s\"}}", $0, $0 > f; close(f) }'

# ---- message_fuzz
cp "$syslog"/* "$json"/eve-* "$message"/
"$tool" inputs "$message" eve-5424 --text '<165>1 2026-11-23T08:00:00Z ids-1 suricata - - - ' "$eve"
"$tool" inputs "$message" eve-3164 --text '<165>Nov 23 08:00:00 ids-1 suricata[42]: @cee: ' "$eve"
"$tool" stored "$message" stored "${syslog_vectors[@]}" "$eve"

# ---- framing_fuzz: header = options, reload, three read sizes (framing_fuzz.cc).
# Options 14: LF, 8 KiB limit; 16: LF or NUL, 8 KiB; 00: LF, 480 B. Reload 00: none; 80: to
# LF, 480 B. Read sizes: byte + 1, ff = the rest.
"$tool" inputs "$framing" oc-whole --header 1400ffffff "$vec"/go-syslog/octet-counting.jsonl \
  "$vec"/vector-vrl/octet-counting.jsonl
"$tool" inputs "$framing" oc-reads --header 1400060040 "$vec"/go-syslog/octet-counting.jsonl \
  "$vec"/vector-vrl/octet-counting.jsonl
"$tool" inputs "$framing" nt-whole --header 1600ffffff "$vec"/go-syslog/non-transparent.jsonl
"$tool" inputs "$framing" nt-reads --header 1600020510 "$vec"/go-syslog/non-transparent.jsonl
# Syslog lines as streams, each framing; the last one with a reload to the 480-byte limit.
"$tool" stream "$framing" lf-stream --header 14001f07ff --framing lf --limit 60 "${syslog_vectors[@]}"
"$tool" stream "$framing" octet-stream --header 14001f07ff --framing octet --limit 60 \
  "${syslog_vectors[@]}"
"$tool" stream "$framing" octet-lf-reload-stream --header 14803f0007 --framing octet-lf --limit 60 \
  "${syslog_vectors[@]}"
{
  printf '\x00\x00\xff\x1f\x02'
  cat "$blns"
} >"$framing/blns-stream"

for d in "$framing" "$syslog" "$json" "$message"; do
  echo "make_seeds.sh: $(find "$d" -type f | wc -l) seeds in $d"
done
