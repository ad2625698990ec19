#!/bin/sh
# util-linux logger (Debian: bsdutils) -> klaxond. Run as it is by
# tests/integration/deploy_integration_test.cc (with KLAXON_HOST=127.0.0.1 and the test
# daemon's ports), which checks that both messages are stored.
#   KLAXON_HOST=klaxon.example.org sh logger.sh
# logger has no TLS: over an untrusted network use syslog-ng (syslog-ng-tls.conf).
set -eu
host="${KLAXON_HOST:-klaxon.example.org}"
tcp_port="${KLAXON_TCP_PORT:-5514}"
udp_port="${KLAXON_UDP_PORT:-5514}"

# TCP: RFC 5424 in RFC 6587 octet-counted frames (a message may then contain newlines).
logger --tcp --octet-count --rfc5424 -n "$host" -P "$tcp_port" -t recipe-app \
  "disk almost full on /var (tcp)"

# UDP: RFC 3164, one datagram per message. Best effort: drops are counted
# (klaxon_source_dropped_messages_total, and RcvbufErrors in /proc/net/snmp), never retried.
logger --udp --rfc3164 -n "$host" -P "$udp_port" -t recipe-app "disk almost full on /var (udp)"

# A whole file, one message per line, over TCP:
#   logger --tcp --octet-count --rfc5424 -n "$host" -P "$tcp_port" -t myapp -f /var/log/myapp/alerts.log
