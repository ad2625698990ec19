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
# json_map_fuzz      one selector byte (json_map_fuzz.cc: the format, and bit 3 for configured
#                    paths) before: JSONTestSuite's test_parsing, Suricata EVE lines
#                    (dcso-fever-eve), the Falco examples, one document per dialect (below), the
#                    naughty strings as one JSON array and each one as a "message" value
# message_fuzz       all of the above as messages, EVE in RFC 5424 and RFC 3164 envelopes, and
#                    alert records and blocks (stored and zstd) made from the syslog vectors;
#                    the CEF vectors and Tenzir's CEF/LEEF lines
# notify_fuzz        matcher lists, a silence, an outbox request header, the naughty strings
# cef_fuzz           CEF/LEEF bodies: the CEF vectors, Logstash's time values as rt=, Tenzir's
#                    CEF/LEEF lines, the naughty strings as CEF and LEEF values
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
# ---- notify_fuzz (issue 7): a selector byte (0 matchers, 1 silence JSON, 2 outbox request),
# then matcher lists as Alertmanager writes them, a silence, and the naughty strings as values.
nf="$out/notify_fuzz"
rm -rf "$nf"
mkdir -p "$nf"
printf '\000severity="critical"' > "$nf/m1"
printf '\000{team=~"db|web", env!=prod, "odd name"!~".*x"}' > "$nf/m2"
printf '\000host="web-01",rule=~"ET (SCAN|POLICY).*"' > "$nf/m3"
printf '\001{"id":"0f3c2a52-8a64-4f0e-9a53-0e2f7b9d1c11","matchers":[{"name":"host","value":"web-01","isRegex":false,"isEqual":true}],"startsAt":"2026-11-23T10:00:00Z","endsAt":"2026-11-23T12:00:00Z","createdBy":"user:alice","comment":"patching","createdAt":"2026-11-23T09:59:00Z"}' > "$nf/s1"
printf '\002KSR1' > "$nf/r1"
awk -v dir="$nf" '!/^#/ && NF { f = sprintf("%s/blns-%04d", dir, NR); printf "%chost=\"%s\"", 0, $0 > f; close(f) }' "$blns"
echo "make_seeds.sh: $(find "$nf" -type f | wc -l) seeds in $nf"
# ---- end notify_fuzz

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

# ---- json_map_fuzz (every seed starts with the selector byte: 00 json, 01 suricata, 02 wazuh,
# 03 falco, 04 zeek, 05 alertmanager, 06 beats, 07 generic; 0f generic with configured paths)
for f in "$corpus"/JSONTestSuite/test_parsing/*.json; do
  { printf '\x00'; cat "$f"; } >"$json/$(basename "$f")"
done
"$tool" inputs "$json" eve --header 00 "$eve"
"$tool" inputs "$json" eve-as-suricata --header 01 "$eve"
falco="$corpus/falco-website-examples/falco-alerts.extracted.jsonl"
if [ -e "$falco" ]; then
  "$tool" inputs "$json" falco --header 00 "$falco"
  "$tool" inputs "$json" falco-as-falco --header 03 "$falco"
fi
{ printf '\x00'; cat "$corpus/big-list-of-naughty-strings/blns.json"; } >"$json/blns.json"
# One document per dialect (the shapes of tests/pipeline/json_map_test.cc), as json and as
# its own format.
dialect_seed() { # NAME SELECTOR JSON
  printf '\x00%s' "$3" >"$json/dialect-$1-json"
  printf "\\x$2%s" "$3" >"$json/dialect-$1"
}
dialect_seed wazuh 02 '{"timestamp":"2024-01-01T10:00:00.123+0000","rule":{"level":10,"description":"sshd: brute force","id":"5712","mitre":{"id":["T1110"],"tactic":["Credential Access"]},"groups":["syslog","sshd"]},"agent":{"id":"001","name":"web-01","ip":"10.0.0.21"},"manager":{"name":"wazuh-mgr"},"id":"1704103200.1","full_log":"Failed password for root from 192.0.2.7 port 2222 ssh2","predecoder":{"program_name":"sshd","hostname":"web-01"},"decoder":{"name":"sshd"},"data":{"srcip":"192.0.2.7","srcport":"2222","dstuser":"root","url":"http://x.example/a"},"syscheck":{"path":"/etc/passwd","md5_after":"m","sha1_after":"s","sha256_after":"t","event":"modified"},"location":"/var/log/auth.log"}'
dialect_seed falco 03 '{"hostname":"node-7","output":"Notice shell","output_fields":{"container.id":"3f2a","evt.time":1779271262123456789,"fd.cip":"10.1.2.3","fd.cport":43512,"fd.sip":"10.1.2.4","fd.sport":6443,"fd.l4proto":"tcp","fd.name":"/etc/shadow","proc.cmdline":"bash -il","proc.name":"bash","user.name":"root","ka.user.name":"u","evt.hostname":"h","proc.tty":null},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["container","shell"],"time":"2026-05-20T10:01:02.123456789Z","uuid":"u-1"}'
dialect_seed zeek 04 '{"ts":1258535660.087229,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51889,"id.resp_h":"192.168.0.1","id.resp_p":22,"proto":"tcp","note":"SSH::Password_Guessing","msg":"guessing","sub":"Sampled servers","src":"10.0.0.1","dst":"192.168.0.1","p":22,"n":3,"peer_descr":"worker-1","actions":["Notice::ACTION_LOG"],"email_dest":[],"suppress_for":3600.0,"id":{"orig_h":"10.0.0.9"}}'
dialect_seed alertmanager 05 '{"receiver":"klaxon","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"SSHBruteForce","instance":"web-01:9100","severity":"critical"},"annotations":{"summary":"Many failed logins","description":"d","runbook_url":"https://r.example/ssh"},"startsAt":"2026-11-23T08:29:01Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p.example/graph","fingerprint":"f4a81a18f24cc7bf"},{"status":"resolved","labels":{"alertname":"DiskFull","instance":"[::1]:9100"},"annotations":{},"startsAt":"2026-11-23T08:29:01.5+01:00","endsAt":"2026-11-23T08:31:30Z"}],"groupLabels":{"alertname":"SSHBruteForce"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am.example.org:9093","version":"4","groupKey":"{}:{alertname=\"SSHBruteForce\"}","truncatedAlerts":0}'
dialect_seed beats 06 '{"@timestamp":"2026-05-20T12:00:00.000Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},"message":"Failed password","log":{"level":"error","file":{"path":"/var/log/auth.log"}},"event":{"kind":"alert","category":["authentication"],"action":"ssh_login","module":"system","dataset":"system.auth","severity":3},"host":{"name":"web-01"},"source.ip":"192.0.2.7","source":{"port":2222},"destination":{"address":"10.0.0.21","port":22},"user":{"name":"root"},"rule":{"id":"R-17","name":"SSH root login"},"process":{"name":"sshd","command_line":"/usr/sbin/sshd -D"},"file":{"path":"/var/log/auth.log","hash":{"sha256":"s"}},"url":{"full":"https://portal.example.org/login"},"agent":{"type":"filebeat","name":"web-01"},"ecs":{"version":"8.0.0"},"labels":{"env":"prod"},"fields":{"team":"blue"},"tags":["beats_input"]}'
dialect_seed generic 07 '{"time":"2026-05-20T10:01:02Z","severity":"critical","signature":"sig","src_ip":"192.0.2.1","dest_port":"22","host":"h","user":"u","msg":"m","detection":{"title":"Impossible travel","tags":["iam","geo"]},"net":{"src":{"addr":"203.0.113.5"}},"risk":80,"seen":1779271262.25,"meta":{"tenant":"acme"},"a":{"b":{"c":{"d":"deep"}}}}'
printf '\x0f%s' "$(cat "$json/dialect-generic" | tail -c +2)" >"$json/dialect-generic-paths"
# Each naughty string as a JSON string value ('\' and '"' escaped, tabs and CRs dropped), for
# the generic mapping (selector 07).
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$blns" | tr -d '\t\r' |
  awk -v dir="$json" '!/^#/ && NF { f = sprintf("%s/blns-%04d", dir, NR); printf "\007{\"message\":\"%s\",\"rule\":{\"name\":\"%s\"}}", $0, $0 > f; close(f) }'

# ---- message_fuzz
cp "$syslog"/* "$message"/
"$tool" inputs "$message" eve "$eve"
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

# ---- cef_fuzz (issue 4): CEF and LEEF bodies. The CEF vectors' inputs (VRL, Logstash, pycef),
# Logstash's time values as the rt= of a minimal record, Tenzir's raw CEF/LEEF lines (from the
# tag on; whole lines with their syslog header go to message_fuzz too), and each naughty string
# as CEF and LEEF values.
cef="$out/cef_fuzz"
rm -rf "$cef"
mkdir -p "$cef"
"$tool" inputs "$cef" cefvec "$vec"/vector-vrl/cef.jsonl "$vec"/logstash-codec-cef/cef.jsonl \
  "$vec"/logstash-codec-cef/cef-stream.jsonl "$vec"/pycef/cef.jsonl
"$tool" inputs "$cef" rt --text 'CEF:0|V|P|1|1|N|5|rt=' "$vec"/logstash-codec-cef/timestamps.jsonl
tenzir="$corpus/tenzir-cef-leef/test/inputs"
if [ -d "$tenzir" ]; then
  awk -v dir="$cef" 'NF { i = index($0, "LEEF:"); if (i == 0) i = index($0, "CEF:"); if (i == 0) i = 1;
    f = sprintf("%s/tenzir-%04d", dir, ++n); printf "%s", substr($0, i) > f; close(f) }' \
    "$tenzir"/cef/*.log "$tenzir"/leef/*.log "$tenzir"/syslog/*.log
  awk -v dir="$message" 'NF { f = sprintf("%s/tenzir-%04d", dir, ++n); printf "%s", $0 > f; close(f) }' \
    "$tenzir"/cef/*.log "$tenzir"/leef/*.log "$tenzir"/syslog/*.log
fi
awk -v dir="$cef" '!/^#/ && NF {
  f = sprintf("%s/blns-cef-%04d", dir, NR); printf "CEF:0|V|P|1|1|N|5|msg=%s cs1Label=%s cs1=x", $0, $0 > f; close(f)
  g = sprintf("%s/blns-leef-%04d", dir, NR); printf "LEEF:2.0|V|P|1|E|^|msg=%s^usrName=%s", $0, $0 > g; close(g) }' \
  "$blns"
cp "$cef"/cefvec-* "$message"/
echo "make_seeds.sh: $(find "$cef" -type f | wc -l) seeds in $cef"
# ---- end cef_fuzz

for d in "$framing" "$syslog" "$json" "$message"; do
  echo "make_seeds.sh: $(find "$d" -type f | wc -l) seeds in $d"
done
