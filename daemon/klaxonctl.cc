// klaxonctl: the command line over a data directory (and, later, the HTTP API).
//
//   klaxonctl parse [--timezone +00:00] [--no-json-body]   stdin lines -> alert JSON lines
//   klaxonctl alerts --data-dir DIR [--from SEQ] [--limit N]
//   klaxonctl dead-letters --data-dir DIR [--limit N]
//
// Reading a data directory opens RocksDB read-only, so it works while klaxond runs (it sees
// what was durable when it opened).
#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/stages/parse.h"
#include "storage/store.h"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#ifndef KLAXON_VERSION
#define KLAXON_VERSION "0.0.0"
#endif

namespace {

int usage(int code) {
  (code == 0 ? std::cout : std::cerr)
      << "usage: klaxonctl parse [--timezone +HH:MM] [--no-json-body]\n"
         "       klaxonctl alerts --data-dir DIR [--from SEQ] [--limit N]\n"
         "       klaxonctl dead-letters --data-dir DIR [--limit N]\n"
         "       klaxonctl version\n";
  return code;
}

struct Args {
  std::string data_dir;
  uint64_t from = 0;
  uint64_t limit = UINT64_MAX;
  int32_t tz = 0;
  bool json_body = true;
  bool ok = true;
};

Args parse_args(int argc, char** argv, int start) {
  Args a;
  for (int i = start; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "klaxonctl: " << k << " needs a value\n";
        a.ok = false;
        return "";
      }
      return argv[++i];
    };
    try {
      if (k == "--data-dir")
        a.data_dir = next();
      else if (k == "--from")
        a.from = std::stoull(next());
      else if (k == "--limit")
        a.limit = std::stoull(next());
      else if (k == "--no-json-body")
        a.json_body = false;
      else if (k == "--timezone") {
        const std::string z = next();
        if (z.size() == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':') {
          a.tz = (z[0] == '-' ? -1 : 1) *
                 (std::stoi(z.substr(1, 2)) * 3600 + std::stoi(z.substr(4, 2)) * 60);
        } else {
          std::cerr << "klaxonctl: --timezone expects +HH:MM, got " << z << "\n";
          a.ok = false;
        }
      } else {
        std::cerr << "klaxonctl: unknown option " << k << "\n";
        a.ok = false;
      }
    } catch (const std::exception&) {
      std::cerr << "klaxonctl: " << k << " expects a number\n";
      a.ok = false;
    }
  }
  return a;
}

int cmd_parse(const Args& a) {
  klaxon::ParseOptions po;
  po.default_utc_offset_s = a.tz;
  po.parse_json_body = a.json_body;
  klaxon::MessageParser parser(po);
  klaxon::Alert alert;
  std::string line, out, padded;
  int failures = 0;
  klaxon::IngestMeta meta;
  meta.transport = klaxon::Transport::kStdin;
  meta.listener = "stdin";
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    padded.assign(line);
    padded.append(klaxon::kParsePadding, '\0');
    const std::string_view frame(padded.data(), line.size());
    meta.received_ns = klaxon::wall_ns();
    out.clear();
    const klaxon::ParseStatus s = parser.parse(frame, meta, meta.received_ns, alert);
    if (s.ok()) {
      klaxon::append_alert_json(alert, out);
    } else {
      ++failures;
      klaxon::JsonObjectWriter w(out);
      w.key("error");
      klaxon::JsonObjectWriter e(out);
      e.str("reason", klaxon::reject_reason_name(s.reason));
      e.str("detail", std::string(s.what) + " [col " + std::to_string(s.column) + "]");
      e.close();
      w.str("input", line);
      w.close();
    }
    out.push_back('\n');
    std::cout << out;
  }
  return failures == 0 ? 0 : 1;
}

int open_store(const Args& a, std::unique_ptr<klaxon::Store>& store) {
  if (a.data_dir.empty()) {
    std::cerr << "klaxonctl: --data-dir is required\n";
    return 2;
  }
  klaxon::StoreOptions so;
  so.read_only = true;
  auto r = klaxon::Store::open(a.data_dir + "/db", so);
  if (!r) {
    std::cerr << "klaxonctl: " << r.error().to_string() << "\n";
    return 1;
  }
  store = std::move(*r);
  return 0;
}

int cmd_alerts(const Args& a) {
  std::unique_ptr<klaxon::Store> store;
  if (int rc = open_store(a, store)) return rc;
  uint64_t n = 0;
  std::string line, json;
  klaxon::Alert alert;
  bool malformed = false;
  auto st = store->for_each_alert(a.from, [&](uint64_t seq, std::string_view record) {
    if (n++ >= a.limit) return false;
    if (!klaxon::read_alert_record(record, alert)) {
      std::cerr << "klaxonctl: malformed alert record at sequence " << seq << "\n";
      malformed = true;
      return true;
    }
    json.clear();
    klaxon::append_alert_json(alert, json);
    // {"seq":N, ...the alert...}
    line.assign("{\"seq\":");
    line.append(std::to_string(seq));
    line.push_back(',');
    line.append(std::string_view(json).substr(1));
    line.push_back('\n');
    std::cout << line;
    return true;
  });
  if (malformed) return 1;
  if (!st) {
    std::cerr << "klaxonctl: " << st.error().to_string() << "\n";
    return 1;
  }
  return 0;
}

int cmd_dead_letters(const Args& a) {
  std::unique_ptr<klaxon::Store> store;
  if (int rc = open_store(a, store)) return rc;
  uint64_t n = 0;
  auto st = store->for_each_dead_letter([&](uint64_t, std::string_view json) {
    if (n++ >= a.limit) return false;
    std::cout << json << "\n";
    return true;
  });
  if (!st) {
    std::cerr << "klaxonctl: " << st.error().to_string() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  if (argc < 2) return usage(2);
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") return usage(0);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "klaxonctl " << KLAXON_VERSION << "\n";
    return 0;
  }
  const Args a = parse_args(argc, argv, 2);
  if (!a.ok) return usage(2);
  if (cmd == "parse") return cmd_parse(a);
  if (cmd == "alerts") return cmd_alerts(a);
  if (cmd == "dead-letters") return cmd_dead_letters(a);
  std::cerr << "klaxonctl: unknown command " << cmd << "\n";
  return usage(2);
}
