// klaxonctl: the command line over a data directory (and, later, the HTTP API).
//
//   klaxonctl parse [--format F] [--timezone +00:00] [--no-json-body]
//                                                 stdin lines -> alert JSON lines
//   klaxonctl alerts --data-dir DIR [--from SEQ] [--limit N]
//   klaxonctl dead-letters --data-dir DIR [--limit N]
//   klaxonctl incidents list --data-dir DIR [--status S] [--limit N]   incident JSON lines
//   klaxonctl incidents show ID --data-dir DIR      the incident, then one line per event
//   klaxonctl keygen --out PREFIX                    Ed25519 pair: PREFIX.key (0600), PREFIX.pub
//   klaxonctl checkpoint --data-dir DIR --key FILE --out FILE    sign every chain head
//   klaxonctl verify --data-dir DIR [--checkpoint FILE --public-key FILE] [--json]
//   klaxonctl export ID --data-dir DIR [--checkpoint FILE --public-key FILE] [--out FILE]
//   klaxonctl replay FILE [--config CONFIG] [--out DIR]   recorded alerts -> incident JSON lines
//
// Reading a data directory opens RocksDB read-only, so it works while klaxond runs (it sees
// what was durable when it opened). Tamper evidence (keygen, checkpoint, verify, export) is
// storage/audit.h; the formats are in storage/README.md "Tamper evidence".
//
// Exit status of verify: 0 when everything verifies, 1 on any broken link or checkpoint
// problem, 2 on usage or I/O errors (unreadable store, key or checkpoint file). checkpoint
// and export follow the same rule: 1 means the evidence does not hold.
#include "daemon/config.h"
#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/stages/correlate.h"
#include "pipeline/stages/parse.h"
#include "pipeline/stages/syslog_parse.h"
#include "storage/audit.h"
#include "storage/incident_writer.h"
#include "storage/store.h"
#include "storage/writer.h"

#include <prometheus/registry.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#ifndef KLAXON_VERSION
#define KLAXON_VERSION "0.0.0"
#endif

namespace {

int usage(int code) {
  (code == 0 ? std::cout : std::cerr)
      << "usage: klaxonctl parse [--format F] [--timezone +HH:MM] [--no-json-body]\n"
         "         F: auto (default), syslog, json, cef, leef, suricata, wazuh, falco, zeek,\n"
         "            alertmanager, beats, generic\n"
         "       klaxonctl alerts --data-dir DIR [--from SEQ] [--limit N]\n"
         "       klaxonctl dead-letters --data-dir DIR [--limit N]\n"
         "       klaxonctl incidents list --data-dir DIR [--status S] [--limit N]\n"
         "       klaxonctl incidents show ID --data-dir DIR\n"
         "       klaxonctl keygen --out PREFIX\n"
         "       klaxonctl checkpoint --data-dir DIR --key FILE --out FILE\n"
         "       klaxonctl verify --data-dir DIR [--checkpoint FILE --public-key FILE] [--json]\n"
         "       klaxonctl export ID --data-dir DIR [--checkpoint FILE --public-key FILE]\n"
         "                 [--out FILE]\n"
         "       klaxonctl replay FILE [--config CONFIG] [--out DIR]\n"
         "       klaxonctl version\n"
         "verify exits 0 when everything verifies, 1 on any break, 2 on usage or I/O errors.\n";
  return code;
}

struct Args {
  std::string data_dir;
  uint64_t from = 0;
  uint64_t limit = UINT64_MAX;
  int32_t tz = 0;
  bool json_body = true;
  klaxon::InputFormat format = klaxon::InputFormat::kAuto;
  bool ok = true;
  std::string out, key, checkpoint, public_key, status, config;
  bool json = false;
  std::vector<std::string> positional;  // subcommand words and ids
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
      else if (k == "--format") {
        const std::string f = next();
        if (!klaxon::input_format_from_name(f, &a.format)) {
          std::cerr << "klaxonctl: unknown --format " << f << "\n";
          a.ok = false;
        }
      } else if (k == "--out")
        a.out = next();
      else if (k == "--key")
        a.key = next();
      else if (k == "--checkpoint")
        a.checkpoint = next();
      else if (k == "--public-key")
        a.public_key = next();
      else if (k == "--status")
        a.status = next();
      else if (k == "--config")
        a.config = next();
      else if (k == "--json")
        a.json = true;
      else if (!k.empty() && k[0] != '-')
        a.positional.push_back(k);
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
  meta.format = a.format;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    padded.assign(line);
    padded.append(klaxon::kParsePadding, '\0');
    const std::string_view frame(padded.data(), line.size());
    meta.received_ns = klaxon::wall_ns();
    out.clear();
    // One line may hold several alerts (an Alertmanager webhook): one output line each.
    const klaxon::ParseStatus s =
        parser.parse(frame, meta, meta.received_ns, alert, [&](klaxon::Alert& parsed) {
          if (!out.empty()) out.push_back('\n');
          klaxon::append_alert_json(parsed, out);
        });
    if (!s.ok()) {
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

// ---- incidents and tamper evidence (storage/audit.h) ----------------------------------------

// Like open_store, but a store that cannot be opened is an I/O error (exit 2): these commands
// keep exit 1 for "the evidence does not hold".
int open_store_or_2(const Args& a, std::unique_ptr<klaxon::Store>& store) {
  const int rc = open_store(a, store);
  return rc == 0 ? 0 : 2;
}

void print_error(const klaxon::Error& e) { std::cerr << "klaxonctl: " << e.to_string() << "\n"; }

std::optional<klaxon::IncidentId> parse_id(const std::string& text) {
  auto id = klaxon::IncidentId::parse(text);
  if (!id) {
    print_error(id.error());
    return std::nullopt;
  }
  return *id;
}

int cmd_incidents_list(const Args& a) {
  klaxon::IncidentStatus status{};
  if (!a.status.empty() && !klaxon::parse_incident_status(a.status, &status)) {
    std::cerr << "klaxonctl: --status expects open, acknowledged, resolved or closed, got "
              << a.status << "\n";
    return 2;
  }
  std::unique_ptr<klaxon::Store> store;
  if (int rc = open_store_or_2(a, store)) return rc;
  uint64_t n = 0;
  auto st = store->for_each_incident([&](const klaxon::Incident& in) {
    if (!a.status.empty() && in.status != status) return true;
    if (n++ >= a.limit) return false;
    std::cout << klaxon::incident_json(in) << "\n";
    return true;
  });
  if (!st) {
    print_error(st.error());
    return 1;
  }
  return 0;
}

// The incident as one JSON line, then each event as one JSON line (hashes included).
int cmd_incidents_show(const Args& a, const std::string& id_text) {
  const auto id = parse_id(id_text);
  if (!id) return 2;
  std::unique_ptr<klaxon::Store> store;
  if (int rc = open_store_or_2(a, store)) return rc;
  auto in = store->get_incident(*id);
  if (in) {
    std::cout << klaxon::incident_json(*in) << "\n";
  } else if (in.error().code != klaxon::ErrorCode::kNotFound) {
    print_error(in.error());
  }
  uint64_t events = 0;
  bool damaged = !in && in.error().code != klaxon::ErrorCode::kNotFound;
  auto st = store->for_each_incident_event(*id, [&](std::string_view, std::string_view value) {
    ++events;
    auto e = klaxon::decode_incident_event(*id, value);
    if (e) {
      std::cout << klaxon::incident_event_json(*e) << "\n";
    } else {
      damaged = true;
      std::string line;
      klaxon::JsonObjectWriter w(line);
      w.str("incident", id->to_string());
      w.str("error", e.error().message);
      w.close();
      std::cout << line << "\n";
    }
    return true;
  });
  if (!st) {
    print_error(st.error());
    return 2;
  }
  if (!in && events == 0) {
    std::cerr << "klaxonctl: no incident " << id->to_string() << "\n";
    return 1;
  }
  return damaged ? 1 : 0;
}

int cmd_incidents(const Args& a) {
  const std::string sub = a.positional.empty() ? "" : a.positional[0];
  if (sub == "list" && a.positional.size() == 1) return cmd_incidents_list(a);
  if (sub == "show" && a.positional.size() == 2) return cmd_incidents_show(a, a.positional[1]);
  std::cerr << "klaxonctl: incidents expects 'list' or 'show ID'\n";
  return usage(2);
}

int cmd_keygen(const Args& a) {
  if (a.out.empty()) {
    std::cerr << "klaxonctl: keygen needs --out PREFIX\n";
    return 2;
  }
  if (auto st = klaxon::generate_key_files(a.out); !st) {
    print_error(st.error());
    return 2;
  }
  std::cout << "wrote " << a.out << ".key (private, mode 0600) and " << a.out
            << ".pub (public); keep both outside the data directory\n";
  return 0;
}

int cmd_checkpoint(const Args& a) {
  if (a.data_dir.empty() || a.key.empty() || a.out.empty()) {
    std::cerr << "klaxonctl: checkpoint needs --data-dir, --key and --out\n";
    return 2;
  }
  if (klaxon::path_is_within(a.data_dir, a.key)) {
    std::cerr << "klaxonctl: the signing key " << a.key << " is inside the data directory "
              << a.data_dir << "; keep it elsewhere\n";
    return 2;
  }
  auto key = klaxon::Ed25519Key::load_private(a.key);
  if (!key) {
    print_error(key.error());
    return 2;
  }
  std::unique_ptr<klaxon::Store> store;
  if (int rc = open_store_or_2(a, store)) return rc;
  klaxon::CheckpointOptions options;
  options.data_dir = a.data_dir;
  auto info = klaxon::write_checkpoint(*store, *key, a.out, options);
  if (!info) {
    print_error(info.error());
    // kStorage: the store contradicts the previous checkpoint (or cannot be read).
    return info.error().code == klaxon::ErrorCode::kStorage ? 1 : 2;
  }
  std::cout << "checkpoint " << info->seq << " written to " << a.out << ": " << info->incidents
            << " incidents, " << info->events << " events, alert log up to " << info->alert_next_seq
            << " (exclusive), hash " << klaxon::hash_hex(info->hash) << "\n";
  return 0;
}

// Loads --checkpoint and --public-key when given. Returns 0, or the exit code. A checkpoint
// file that exists but does not parse is evidence of tampering, not an I/O error: it goes
// into *bad_checkpoint and verification goes on without it.
int load_checkpoint_args(const Args& a, std::optional<klaxon::Checkpoint>& checkpoint,
                         std::optional<klaxon::Ed25519Key>& key, std::string* bad_checkpoint) {
  if (a.checkpoint.empty() != a.public_key.empty()) {
    std::cerr << "klaxonctl: --checkpoint and --public-key go together (the checkpoint's own "
                 "key is never trusted)\n";
    return 2;
  }
  if (a.checkpoint.empty()) return 0;
  // Trust anchored in the data directory is no trust: whoever rewrites the data could
  // replace these too.
  for (const std::string* f : {&a.checkpoint, &a.public_key}) {
    if (!a.data_dir.empty() && klaxon::path_is_within(a.data_dir, *f)) {
      std::cerr << "klaxonctl: " << *f << " is inside the data directory " << a.data_dir
                << "; use a copy kept elsewhere\n";
      return 2;
    }
  }
  auto k = klaxon::Ed25519Key::load_public(a.public_key);
  if (!k) {
    print_error(k.error());
    return 2;
  }
  key.emplace(std::move(*k));
  auto c = klaxon::read_checkpoint_file(a.checkpoint);
  if (!c) {
    if (c.error().code == klaxon::ErrorCode::kIo) {
      print_error(c.error());
      return 2;
    }
    *bad_checkpoint = c.error().message;
    return 0;
  }
  checkpoint.emplace(std::move(*c));
  return 0;
}

// What verify and export read: the store, and the checkpoint with the key trusted for it.
struct Evidence {
  std::optional<klaxon::Checkpoint> checkpoint;
  std::optional<klaxon::Ed25519Key> key;
  std::string bad_checkpoint;  // a checkpoint file that did not parse (tampering)
  std::unique_ptr<klaxon::Store> store;

  // Points VerifyOptions or ExportOptions at the checkpoint, when one was loaded.
  template <typename Options>
  void trust(Options& options) const {
    if (!checkpoint) return;
    options.checkpoint = &*checkpoint;
    options.trusted_key = &*key;
  }
};

// --checkpoint/--public-key, then the store. Returns 0, or the exit code.
int open_evidence(const Args& a, Evidence& e) {
  if (int rc = load_checkpoint_args(a, e.checkpoint, e.key, &e.bad_checkpoint)) return rc;
  return open_store_or_2(a, e.store);
}

constexpr const char* kNoCheckpointWarning =
    "no checkpoint given: each chain is recomputed, but a cut tail, a deleted incident or a "
    "chain recomputed without the key cannot be detected (pass --checkpoint and --public-key)";

int cmd_verify(const Args& a) {
  if (a.data_dir.empty()) {
    std::cerr << "klaxonctl: verify needs --data-dir\n";
    return 2;
  }
  Evidence e;
  if (int rc = open_evidence(a, e)) return rc;
  klaxon::VerifyOptions options;
  e.trust(options);
  auto report = klaxon::verify_store(*e.store, options);
  if (!report) {
    print_error(report.error());
    return 2;
  }
  if (!e.bad_checkpoint.empty()) {
    report->checkpoint_given = true;
    report->problems.insert(report->problems.begin(), e.bad_checkpoint);
  }
  const bool given = !a.checkpoint.empty();

  if (a.json) {
    std::string out;
    klaxon::JsonObjectWriter w(out);
    w.raw("ok", report->ok() ? "true" : "false");
    w.num("incidents", static_cast<int64_t>(report->incidents));
    w.num("events", static_cast<int64_t>(report->events));
    if (given) {
      w.key("checkpoint");
      klaxon::JsonObjectWriter c(out);
      c.str("file", a.checkpoint);
      if (e.checkpoint) {
        c.num("seq", static_cast<int64_t>(e.checkpoint->seq));
        c.key("time");
        out.push_back('"');
        klaxon::append_rfc3339(e.checkpoint->time_ns, out);
        out.push_back('"');
        c.num("incidents", static_cast<int64_t>(e.checkpoint->incidents.size()));
        c.num("alert_next_seq", static_cast<int64_t>(e.checkpoint->alert_next_seq));
      }
      c.raw("valid", report->checkpoint_valid ? "true" : "false");
      c.close();
    } else {
      w.raw("checkpoint", "null");
      w.str("warning", kNoCheckpointWarning);
    }
    w.key("breaks");
    out.push_back('[');
    for (size_t i = 0; i < report->breaks.size(); ++i) {
      if (i) out.push_back(',');
      const klaxon::ChainBreak& b = report->breaks[i];
      klaxon::JsonObjectWriter o(out);
      o.str("incident", b.incident.to_string());
      o.num("seq", static_cast<int64_t>(b.seq));
      o.str("what", b.what);
      o.close();
    }
    out.push_back(']');
    w.key("problems");
    out.push_back('[');
    for (size_t i = 0; i < report->problems.size(); ++i) {
      if (i) out.push_back(',');
      klaxon::append_json_string(out, report->problems[i]);
    }
    out.push_back(']');
    w.num("total", static_cast<int64_t>(report->total()));
    w.close();
    std::cout << out << "\n";
  } else {
    std::cout << "checked " << report->incidents << " incidents, " << report->events
              << " events in " << a.data_dir << "\n";
    if (!given) {
      std::cout << "warning: " << kNoCheckpointWarning << "\n";
    } else if (e.checkpoint) {
      std::string time;
      klaxon::append_rfc3339(e.checkpoint->time_ns, time);
      std::cout << "checkpoint " << e.checkpoint->seq << " of " << time << " ("
                << e.checkpoint->incidents.size() << " incidents, alert log below "
                << e.checkpoint->alert_next_seq << "): "
                << (report->checkpoint_valid ? "signature verified with " : "NOT verified with ")
                << a.public_key << "\n";
    }
    for (const klaxon::ChainBreak& b : report->breaks) {
      std::cout << "BROKEN incident " << b.incident.to_string() << " seq " << b.seq << ": "
                << b.what << "\n";
    }
    for (const std::string& p : report->problems) std::cout << "PROBLEM " << p << "\n";
    if (report->ok()) {
      std::cout << "OK: every chain verifies\n";
    } else {
      std::cout << "FAILED: " << report->breaks.size() << " broken incident(s), "
                << report->problems.size() << " other problem(s)\n";
    }
  }
  return report->ok() ? 0 : 1;
}

// The evidence bundle of one incident. Written even when its chain does not verify (that is
// evidence too), but then the exit status is 1.
int cmd_export(const Args& a) {
  if (a.positional.size() != 1) {
    std::cerr << "klaxonctl: export expects one incident ID\n";
    return usage(2);
  }
  const auto id = parse_id(a.positional[0]);
  if (!id) return 2;
  Evidence e;
  if (int rc = open_evidence(a, e)) return rc;
  klaxon::ExportOptions options;
  e.trust(options);
  auto bundle = klaxon::export_incident_evidence(*e.store, *id, options);
  if (!bundle) {
    print_error(bundle.error());
    return bundle.error().code == klaxon::ErrorCode::kNotFound ? 1 : 2;
  }
  if (a.out.empty()) {
    std::cout << bundle->json << "\n";
  } else {
    std::ofstream f(a.out, std::ios::binary | std::ios::trunc);
    f << bundle->json << "\n";
    f.close();
    if (!f) {
      std::cerr << "klaxonctl: cannot write " << a.out << "\n";
      return 2;
    }
  }
  int rc = 0;
  if (!bundle->chain_intact) {
    std::cerr << "klaxonctl: the chain of " << id->to_string()
              << " does not verify; see chain.first_break\n";
    rc = 1;
  }
  if (!e.bad_checkpoint.empty()) {
    std::cerr << "klaxonctl: " << e.bad_checkpoint << "\n";
    rc = 1;
  } else if (e.checkpoint && !bundle->checkpoint_verified) {
    std::cerr << "klaxonctl: the checkpoint does not verify under " << a.public_key << "\n";
    rc = 1;
  }
  if (bundle->alerts_missing > 0) {
    std::cerr << "klaxonctl: " << bundle->alerts_missing
              << " linked alert(s) are not in the alert log; see alerts_missing\n";
  }
  return rc;
}

}  // namespace

// The tabletop exercise: recorded alerts (one message per line, as a sender would frame them
// with LF) go through the daemon's own parse, store, dedupe, grouping and Sigma stages with
// the dedupe/correlate settings of CONFIG, into a scratch data directory (--out, else a new
// one under /tmp). Windows run on the alerts' own timestamps, so a day of recorded alerts
// replays in seconds. Prints the incidents that would have been raised, one JSON line each.
int cmd_replay(const Args& a) {
  if (a.positional.size() != 1) {
    std::cerr << "klaxonctl: replay expects one FILE of recorded alerts\n";
    return usage(2);
  }
  std::ifstream in(a.positional[0], std::ios::binary);
  if (!in) {
    std::cerr << "klaxonctl: cannot read " << a.positional[0] << "\n";
    return 2;
  }
  auto cfg = a.config.empty()
                 ? klaxon::parse_config(klaxon::default_config_yaml(), "<embedded default>")
                 : klaxon::load_config_file(a.config);
  if (!cfg) {
    std::cerr << "klaxonctl: " << cfg.error().message << "\n";
    return 2;
  }
  std::string dir = a.out;
  if (dir.empty()) {
    char tmpl[] = "/tmp/klaxon-replay-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::cerr << "klaxonctl: cannot create a scratch directory\n";
      return 2;
    }
    dir = tmpl;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "klaxonctl: cannot create " << dir << ": " << ec.message() << "\n";
    return 2;
  }
  klaxon::StoreOptions so;
  so.sync = false;  // scratch data: durability is not the point
  auto store = klaxon::Store::open(dir + "/db", so);
  if (!store) {
    std::cerr << "klaxonctl: " << store.error().message << "\n";
    return 2;
  }
  if ((*store)->next_sequence() != 1) {
    std::cerr << "klaxonctl: " << dir << " already holds alerts; replay needs an empty one\n";
    return 2;
  }
  prometheus::Registry registry;
  klaxon::PipelineMetrics metrics(registry);
  auto options = std::make_shared<const klaxon::CorrelateOptions>(cfg->correlate);
  klaxon::ParseStageOptions po = cfg->parse;
  po.workers = 1;  // one worker: alert sequences follow the file, so replays are repeatable
  po.correlate = options;
  klaxon::BoundedQueue<klaxon::RawBatch> parse_queue(64);
  klaxon::BoundedQueue<klaxon::EncodedBlock> persist_queue(64);
  klaxon::BoundedQueue<klaxon::IncidentCommit> incident_queue(256);
  klaxon::GroupCommitWriter writer(**store, persist_queue, metrics);
  klaxon::IncidentWriter incident_writer(**store, incident_queue, metrics);
  klaxon::CorrelateStage correlate(options, (*store)->instance_secret(), incident_queue, metrics);
  writer.set_correlation_sink([&correlate](std::unique_ptr<klaxon::CorrelationBatch> b) {
    correlate.submit(std::move(b));
  });
  klaxon::ParseStage parse(po, parse_queue, persist_queue, metrics);
  incident_writer.start();
  correlate.start();
  writer.start();
  parse.start();

  uint64_t lines = 0;
  auto batch = std::make_unique<klaxon::RawBatch>();
  auto push = [&] {
    if (batch->frames.empty()) return;
    batch->buffer.append(klaxon::kParsePadding, '\0');
    batch->transport = klaxon::Transport::kStdin;
    batch->listener = "replay";
    batch->received_ns = klaxon::wall_ns();
    batch->enqueued_ns = klaxon::monotonic_ns();
    while (!parse_queue.try_push(batch)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    batch = std::make_unique<klaxon::RawBatch>();
  };
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ++lines;
    batch->frames.push_back(
        {static_cast<uint32_t>(batch->buffer.size()), static_cast<uint32_t>(line.size())});
    batch->buffer.append(line);
    if (batch->frames.size() >= 1024) push();
  }
  push();
  parse.drain_and_stop();
  writer.drain_and_stop();
  correlate.drain_and_stop();
  incident_writer.drain_and_stop();

  uint64_t incidents = 0;
  auto st = (*store)->for_each_incident([&](const klaxon::Incident& incident) {
    std::cout << klaxon::incident_json(incident) << "\n";
    ++incidents;
    return true;
  });
  if (!st) {
    std::cerr << "klaxonctl: " << st.error().message << "\n";
    return 2;
  }
  std::cerr << "replayed " << lines << " lines: " << metrics.persisted_alerts->Value()
            << " alerts, " << metrics.dead_letters->Value() << " rejected, " << incidents
            << " incidents, " << metrics.sigma_firings->Value()
            << " correlation-rule firings; data in " << dir << "\n";
  return 0;
}

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
  if (cmd == "incidents") return cmd_incidents(a);
  if (cmd == "export") return cmd_export(a);
  if (cmd == "replay") return cmd_replay(a);
  if (!a.positional.empty()) {
    std::cerr << "klaxonctl: unexpected argument " << a.positional[0] << "\n";
    return usage(2);
  }
  if (cmd == "keygen") return cmd_keygen(a);
  if (cmd == "checkpoint") return cmd_checkpoint(a);
  if (cmd == "verify") return cmd_verify(a);
  if (cmd == "parse") return cmd_parse(a);
  if (cmd == "alerts") return cmd_alerts(a);
  if (cmd == "dead-letters") return cmd_dead_letters(a);
  std::cerr << "klaxonctl: unknown command " << cmd << "\n";
  return usage(2);
}
