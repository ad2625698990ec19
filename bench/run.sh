#!/usr/bin/env bash
# End-to-end benchmark: starts klaxond (Release build, sync per group commit) on free
# loopback ports in a temp directory, pushes alerts with klaxon-loadgen, prints the figures,
# then runs the micro-benchmarks. Usage: bench/run.sh [COUNT] [CONNECTIONS] [WORKERS] [DUP_RATIO]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${KLAXON_BUILD_DIR:-$here/build}"
count="${1:-2000000}"
conns="${2:-2}"
workers="${3:-2}"
dup="${4:-0.1}"
tmp="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

port() { echo $((20000 + RANDOM % 20000)); }
tcp=$(port); http=$(port); tls=$(port)
# KLAXON_BENCH_CORRELATE=false: ingest only (no dedupe, correlation or incidents).
# KLAXON_BENCH_RULES=FILE: Sigma rules for correlate.rules (e.g. deploy/rules.example.yml).
# KLAXON_BENCH_TLS=1: the same load over TLS (self-signed certificate in the temp dir).
# KLAXON_BENCH_ENRICH=false: no lookups for new incidents; KLAXON_BENCH_DNS=ip:port: the
# resolver enrichment asks (default: the system's).
# KLAXON_BENCH_NOTIFY=dead: every incident is notified to two webhooks, one answering 500 to
# everything and one accepting connections and never answering (ingest must not slow down).
tls_mode="${KLAXON_BENCH_TLS:-0}"
notify_yaml=""
# KLAXON_BENCH_NOTIFY=decide: routing and grouping only (a receiver with no integration).
if [ "${KLAXON_BENCH_NOTIFY:-}" = decide ]; then
  notify_yaml="notify:
  route:
    receiver: nobody
    group_by: [incident]
    group_wait: 1s
  receivers:
    - name: nobody"
fi
if [ "${KLAXON_BENCH_NOTIFY:-}" = dead ]; then
  p500=$(port); phang=$(port)
  # The stubs stand in for remote endpoints: lowest CPU priority, so that they do not take
  # the cores klaxond is measured on.
  nice -n 19 python3 - "$p500" "$phang" <<'PY' &
import http.server, socket, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
hang = socket.socket(); hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
hang.bind(("127.0.0.1", int(sys.argv[2]))); hang.listen(1024)
held = []
while True:
    c, _ = hang.accept(); held.append(c)
PY
  peers=$!
  trap 'kill "${pid:-0}" "${peers:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
  notify_yaml="notify:
  route:
    receiver: dead
    group_by: [incident]
    group_wait: 1s
  receivers:
    - name: dead
      webhook_configs:
        - {url: \"http://127.0.0.1:$p500/hook\", secret: whsec_a2xheG9uLWJlbmNoLXNpZ25pbmcta2V5LTAwMDAwMDAw}
        - {url: \"http://127.0.0.1:$phang/hook\", secret: whsec_a2xheG9uLWJlbmNoLXNpZ25pbmcta2V5LTAwMDAwMDAw, timeout: 30s}"
fi
cat > "$tmp/klaxon.yaml" <<YAML
data_dir: $tmp/data
http:
  listen: 127.0.0.1:$http
sources:
  syslog_tcp:
    type: syslog_tcp
    listen: 127.0.0.1:$tcp
  syslog_tls:
    type: syslog_tls
    listen: 127.0.0.1:$tls
parse:
  workers: $workers
correlate:
  enabled: ${KLAXON_BENCH_CORRELATE:-true}
${KLAXON_BENCH_RULES:+  rules: $KLAXON_BENCH_RULES}
enrich:
  enabled: ${KLAXON_BENCH_ENRICH:-true}
${KLAXON_BENCH_DNS:+  dns_servers: "$KLAXON_BENCH_DNS"}
storage:
  sync: commit
log:
  level: warn
$notify_yaml
YAML
"$bin/daemon/klaxond" --config "$tmp/klaxon.yaml" 2> "$tmp/klaxond.log" &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
target=$tcp
[ "$tls_mode" = 1 ] && target=$tls
echo "== end to end: $count alerts, $conns connection(s), $workers parse worker(s), duplicate ratio $dup, sync per commit, tls=$tls_mode"
"$bin/bench/klaxon-loadgen" --port "$target" --metrics-port "$http" --count "$count" \
  --connections "$conns" --dup-ratio "$dup" --pid "$pid" --tls "$tls_mode"
curl -s "http://127.0.0.1:$http/metrics" | grep -E '^klaxon_(enrich_(lookups|queries|cache_hits|cache_misses)_total(\{[^}]*\})?|incident_operations_total\{[^}]*\}|notifications_total\{[^}]*\}|notify_outbox_requests|sink_requests_total\{[^}]*\}|sink_dropped_total\{[^}]*\}|incidents_created_total|incident_events_total|incident_commits_total|correlate_alerts_total\{[^}]*\}|dedupe_entries|storage_commits_total|storage_persisted_bytes_total|storage_persisted_received_bytes_total|source_backpressure_pauses_total\{transport="tcp"\}|pipeline_latency_seconds_(sum|count)) '
du -sh "$tmp/data" | sed 's/^/data directory: /'
if [ "${KLAXON_BENCH_MICRO:-1}" = 1 ]; then
  echo "== micro-benchmarks"
  "$bin/bench/framing_bench" --benchmark_min_time=0.5
  "$bin/bench/parse_bench" --benchmark_min_time=0.5
  "$bin/bench/store_bench" --benchmark_min_time=0.5
fi
