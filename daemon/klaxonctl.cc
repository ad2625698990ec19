// klaxonctl: the command line over a data directory and over klaxond's incident API.
//
// Data directory (RocksDB opened read-only):
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
//   klaxonctl token-hash         a token on stdin -> its SHA-256 hex, for api.tokens[].sha256
//
// The incident API (daemon/incident_api.h), selected by --api URL or the KLAXON_API variable:
//   klaxonctl incidents list [--status S[,S]] [--severity S] [--category C] [--since T]
//                            [--until T] [--limit N] [--json]       a table, or the API's JSON
//   klaxonctl incidents show ID                  the incident, then its timeline (JSON lines)
//   klaxonctl incidents ack|resolve|close|reopen ID [--comment TEXT]
//   klaxonctl incidents note ID --text TEXT
//   klaxonctl incidents assign ID --to NAME      (--to "" unassigns)
//   klaxonctl incidents export ID [--out FILE]   the evidence bundle, built by the daemon
//   klaxonctl silences list [--json]
//   klaxonctl silences add --matcher 'host="web-01"' [--matcher ...]
//                          (--duration 2h | --until RFC3339) [--comment TEXT]
//   klaxonctl silences expire ID
// The token comes from --token-file FILE or KLAXON_TOKEN; a --token flag works but warns, as
// every user on the host can read it from ps. Only http:// is spoken (Boost.Beast, one
// request per connection): reach an https:// daemon through a local TLS proxy. A --data-dir
// on the command line wins over KLAXON_API (the flag is explicit, the variable ambient);
// --api together with --data-dir is a usage error.
//
// Reading a data directory opens RocksDB read-only, so it works while klaxond runs (it sees
// what was durable when it opened). Tamper evidence (keygen, checkpoint, verify, export) is
// storage/audit.h; the formats are in storage/README.md "Tamper evidence".
//
// Exit status of verify: 0 when everything verifies, 1 on any broken link or checkpoint
// problem, 2 on usage or I/O errors (unreadable store, key or checkpoint file). checkpoint
// and export follow the same rule: 1 means the evidence does not hold. API commands: 0 when
// the daemon did it, 1 when it refused or found nothing (its {"error"} message is printed;
// also an evidence bundle whose chain does not verify), 2 on usage errors and when the API
// cannot be reached or answers with something that is not the API.

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

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

#include <openssl/sha.h>
#include <prometheus/registry.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
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
         "       klaxonctl token-hash          (token on stdin; prints the SHA-256 for\n"
         "                                      api.tokens[].sha256)\n"
         "       klaxonctl version\n"
         "over the incident API (--api http://HOST:PORT or KLAXON_API; token from\n"
         "--token-file FILE or KLAXON_TOKEN):\n"
         "       klaxonctl incidents list [--status S[,S]] [--severity S] [--category C]\n"
         "                 [--since T] [--until T] [--limit N] [--json]\n"
         "       klaxonctl incidents show ID\n"
         "       klaxonctl incidents ack|resolve|close|reopen ID [--comment TEXT]\n"
         "       klaxonctl incidents note ID --text TEXT\n"
         "       klaxonctl incidents assign ID --to NAME\n"
         "       klaxonctl incidents export ID [--out FILE]\n"
         "       klaxonctl silences list [--json]\n"
         "       klaxonctl silences add --matcher 'host=\"web-01\"' [--matcher ...]\n"
         "                 (--duration 2h | --until RFC3339) [--comment TEXT]\n"
         "       klaxonctl silences expire ID\n"
         "https:// is not spoken: point --api at a local TLS proxy. T: RFC 3339 or Unix seconds.\n"
         "verify exits 0 when everything verifies, 1 on any break, 2 on usage or I/O errors.\n"
         "API commands exit 0 when done, 1 when the daemon refuses (its message is printed),\n"
         "2 on usage errors or when the API cannot be reached.\n";
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
  // The incident API.
  std::string api, token_file, severity, category, since, until, duration;
  std::optional<std::string> token, comment, text, to;  // set, even to "", when given
  std::vector<std::string> matchers;
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
      else if (k == "--api")
        a.api = next();
      else if (k == "--token-file")
        a.token_file = next();
      else if (k == "--token")
        a.token = next();
      else if (k == "--severity")
        a.severity = next();
      else if (k == "--category")
        a.category = next();
      else if (k == "--since")
        a.since = next();
      else if (k == "--until")
        a.until = next();
      else if (k == "--duration")
        a.duration = next();
      else if (k == "--comment")
        a.comment = next();
      else if (k == "--text")
        a.text = next();
      else if (k == "--to")
        a.to = next();
      else if (k == "--matcher")
        a.matchers.push_back(next());
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

// ---- the incident API (daemon/incident_api.h) -------------------------------------------------
//
// One synchronous HTTP/1.1 exchange per call, on a fresh connection, with a deadline: the
// daemon answers a change only once it is durable (http.durable_timeout, 30 s by default),
// so the deadline sits above that.

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::chrono::seconds kApiTimeout{60};
constexpr uint64_t kMaxAnswerBytes = 1ull << 30;  // an evidence bundle can be large
constexpr size_t kMinTokenLength = 16;

// Where the API is, from --api or KLAXON_API: http://HOST[:PORT][/PREFIX].
struct ApiEndpoint {
  std::string url;          // as given, for messages
  std::string host;         // without IPv6 brackets, for the resolver
  std::string port = "80";  // a service name would do too, but we only take digits
  std::string host_header;  // HOST[:PORT] as in the URL
  std::string prefix;       // a path before /api/v1 (a reverse proxy's), no trailing '/'
  bool loopback = false;
};

klaxon::Result<ApiEndpoint> parse_api_url(const std::string& url) {
  using klaxon::ErrorCode;
  using klaxon::make_error;
  if (url.rfind("https://", 0) == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      url +
                          ": https:// is not supported (klaxonctl speaks plain HTTP); run a "
                          "local TLS proxy such as stunnel in client mode and point --api at "
                          "http://127.0.0.1:PORT");
  }
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      url + ": expected http://HOST[:PORT], e.g. http://127.0.0.1:9180");
  }
  ApiEndpoint e;
  e.url = url;
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) e.prefix = rest.substr(slash);
  while (!e.prefix.empty() && e.prefix.back() == '/') e.prefix.pop_back();
  if (authority.find('@') != std::string::npos || rest.find_first_of("?# ") != std::string::npos)
    return make_error(ErrorCode::kInvalidArgument,
                      url +
                          ": expected http://HOST[:PORT][/PATH], without user, query or "
                          "fragment (the token comes from --token-file or KLAXON_TOKEN)");
  std::string port;
  if (!authority.empty() && authority[0] == '[') {  // [::1]:9180
    const size_t close = authority.find(']');
    if (close == std::string::npos)
      return make_error(ErrorCode::kInvalidArgument, url + ": unterminated [IPv6 address]");
    e.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return make_error(ErrorCode::kInvalidArgument, url + ": expected :PORT after ]");
      port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    e.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (e.host.empty()) return make_error(ErrorCode::kInvalidArgument, url + ": no host");
  if (!port.empty()) {
    const bool digits = port.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535)
      return make_error(ErrorCode::kInvalidArgument, url + ": port must be 1..65535");
    e.port = port;
  }
  e.host_header = authority;
  e.loopback = e.host == "localhost" || e.host == "::1" || e.host.rfind("127.", 0) == 0;
  return e;
}

// A path segment or a query value, percent-encoded. '+' must be encoded: the daemon decodes
// it as a space, and RFC 3339 offsets carry one.
std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',' || c == ':') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Text from the daemon (titles come from alerts, so from anyone who can send one) goes to a
// terminal: control characters become spaces so no escape sequence reaches it.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

struct ApiAnswer {
  unsigned status = 0;
  std::string body;
};

// One request, one answer. Asio's errors are translated here, once: resolving, connecting,
// sending and reading failures (and the deadline) come back as kIo.
klaxon::Result<ApiAnswer> http_exchange(const ApiEndpoint& api, http::verb verb,
                                        const std::string& target, const std::string& token,
                                        const std::string& body) {
  asio::io_context io;
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(api.host, api.port, ec);
  if (ec) {
    return klaxon::make_error(klaxon::ErrorCode::kIo,
                              "cannot resolve " + api.host + " (" + api.url + "): " + ec.message());
  }
  http::request<http::string_body> req(verb, api.prefix + target, 11);
  req.set(http::field::host, api.host_header);
  req.set(http::field::user_agent, "klaxonctl/" KLAXON_VERSION);
  req.set(http::field::accept, "application/json");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::connection, "close");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();

  // The async operations run to completion here, under one deadline for the whole exchange
  // (Beast's synchronous calls have no timeout, and a CLI must not hang on a stuck peer).
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  const char* step = "connect to";
  beast::error_code failure;
  stream.expires_after(kApiTimeout);
  stream.async_connect(endpoints, [&](beast::error_code e, const asio::ip::tcp::endpoint&) {
    if (e) {
      failure = e;
      return;
    }
    step = "send the request to";
    http::async_write(stream, req, [&](beast::error_code we, size_t) {
      if (we) {
        failure = we;
        return;
      }
      step = "read the answer of";
      http::async_read(stream, buffer, parser, [&](beast::error_code re, size_t) { failure = re; });
    });
  });
  io.run();
  if (failure) {
    const std::string why = failure == beast::error::timeout
                                ? "no answer within " + std::to_string(kApiTimeout.count()) + " s"
                                : failure.message();
    return klaxon::make_error(klaxon::ErrorCode::kIo, std::string("cannot ") + step +
                                                          " the API at " + api.url + ": " + why);
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  ApiAnswer answer;
  answer.status = parser.get().result_int();
  answer.body = std::move(parser.get().body());
  return answer;
}

// The API and the token for one run of klaxonctl.
class ApiClient {
 public:
  ApiClient(ApiEndpoint api, std::string token) : api_(std::move(api)), token_(std::move(token)) {}

  // Sends the request. Returns 0 with the 2xx answer's body in *out, or prints why not and
  // returns the exit code: 1 when the daemon refused (its {"error"}), 2 when it could not be
  // reached or the answer is not the API's.
  int call(http::verb verb, const std::string& target, const std::string& body, std::string* out) {
    auto answer = http_exchange(api_, verb, target, token_, body);
    if (!answer) {
      std::cerr << "klaxonctl: " << answer.error().message << "\n";
      return 2;
    }
    if (answer->status >= 200 && answer->status < 300) {
      *out = std::move(answer->body);
      return 0;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view message;
    const bool api_error = parser.parse(answer->body).get(doc) == simdjson::SUCCESS &&
                           doc["error"].get(message) == simdjson::SUCCESS;
    const std::string status =
        std::to_string(answer->status) + " " +
        std::string(http::obsolete_reason(static_cast<http::status>(answer->status)));
    if (!api_error) {
      // Not klaxond's API (a wrong port, a proxy's error page): say what answered.
      std::cerr << "klaxonctl: " << api_.url << " answered " << status
                << " without an API error; is it klaxond's HTTP port? "
                << printable(answer->body.substr(0, 200)) << "\n";
      return 2;
    }
    std::cerr << "klaxonctl: " << status << ": " << printable(message) << "\n";
    return 1;
  }

  // call() for answers that must be JSON: parses into *doc (kept alive by *parser).
  int call_json(http::verb verb, const std::string& target, const std::string& body,
                simdjson::dom::parser& parser, simdjson::dom::element* doc,
                std::string* raw = nullptr) {
    std::string text;
    if (int rc = call(verb, target, body, &text)) return rc;
    if (parser.parse(text).get(*doc) != simdjson::SUCCESS) {
      std::cerr << "klaxonctl: the answer to " << target << " is not JSON\n";
      return 2;
    }
    if (raw != nullptr) *raw = std::move(text);
    return 0;
  }

 private:
  ApiEndpoint api_;
  std::string token_;
};

// The URL, when this run uses the API: --api, else KLAXON_API unless --data-dir was given.
std::string api_url(const Args& a) {
  if (!a.api.empty()) return a.api;
  if (!a.data_dir.empty()) return "";
  const char* env = std::getenv("KLAXON_API");
  return env == nullptr ? "" : env;
}

// A token is a header value: no control characters (a newline would end the header).
bool token_is_clean(std::string_view token) {
  return std::none_of(token.begin(), token.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Builds the client for an API command. Returns 0, or the exit code (2) having said why.
int make_client(const Args& a, std::optional<ApiClient>& client) {
  if (!a.api.empty() && !a.data_dir.empty()) {
    std::cerr << "klaxonctl: --api and --data-dir exclude each other\n";
    return 2;
  }
  const std::string url = api_url(a);
  if (url.empty()) {
    std::cerr << "klaxonctl: this command needs the API: --api http://HOST:PORT or KLAXON_API\n";
    return 2;
  }
  auto api = parse_api_url(url);
  if (!api) {
    std::cerr << "klaxonctl: " << api.error().message << "\n";
    return 2;
  }
  std::string token;
  if (!a.token_file.empty()) {
    if (a.token) {
      std::cerr << "klaxonctl: give --token-file or --token, not both\n";
      return 2;
    }
    std::ifstream f(a.token_file, std::ios::binary);
    if (!f) {
      std::cerr << "klaxonctl: cannot read the token file " << a.token_file << "\n";
      return 2;
    }
    std::getline(f, token);
    if (!token.empty() && token.back() == '\r') token.pop_back();
  } else if (a.token) {
    std::cerr << "klaxonctl: warning: --token is visible to every user of this host (ps); use "
                 "--token-file FILE or KLAXON_TOKEN\n";
    token = *a.token;
  } else if (const char* env = std::getenv("KLAXON_TOKEN")) {
    token = env;
  }
  if (token.empty()) {
    std::cerr << "klaxonctl: the API needs a token: --token-file FILE or KLAXON_TOKEN\n";
    return 2;
  }
  if (!token_is_clean(token)) {
    std::cerr << "klaxonctl: the token holds control characters\n";
    return 2;
  }
  if (!api->loopback) {
    std::cerr << "klaxonctl: warning: the token goes to " << api->host
              << " in clear text; reach a remote klaxond through a local TLS proxy\n";
  }
  client.emplace(std::move(*api), std::move(token));
  return 0;
}

std::string str_at(simdjson::dom::element e, const char* pointer) {
  std::string_view v;
  return e.at_pointer(pointer).get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

int64_t int_at(simdjson::dom::element e, const char* pointer) {
  int64_t v = 0;
  return e.at_pointer(pointer).get(v) == simdjson::SUCCESS ? v : -1;
}

// Rows of text in aligned columns; the last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string line;
  for (const auto& row : rows) {
    line.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    line.push_back('\n');
    std::cout << line;
  }
}

// The body as the daemon sent it, one line (its answers already end with a newline).
void print_body(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  std::cout << body << "\n";
}

int api_incidents_list(const Args& a, ApiClient& api) {
  // Checked here as in data-directory mode: a wrong status is a usage error (2), not a refusal.
  std::string_view rest = a.status;
  while (!rest.empty()) {
    const std::string_view s = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), s.size() + 1));
    klaxon::IncidentStatus st{};
    if (!klaxon::parse_incident_status(s, &st)) {
      std::cerr << "klaxonctl: --status expects open, acknowledged, resolved or closed (comma "
                   "separated), got "
                << a.status << "\n";
      return 2;
    }
  }
  std::string target = "/api/v1/incidents";
  char sep = '?';
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    target += sep;
    sep = '&';
    target += key;
    target += '=';
    target += url_encode(value);
  };
  add("status", a.status);
  add("severity", a.severity);
  add("category", a.category);
  add("since", a.since);
  add("until", a.until);
  if (a.limit != UINT64_MAX) add("limit", std::to_string(a.limit));

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string raw;
  if (int rc = api.call_json(http::verb::get, target, "", parser, &doc, &raw)) return rc;
  if (a.json) {
    print_body(raw);
    return 0;
  }
  simdjson::dom::array incidents;
  if (doc["incidents"].get(incidents) != simdjson::SUCCESS) {
    std::cerr << "klaxonctl: the answer has no \"incidents\" list\n";
    return 2;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "STATUS", "SEVERITY", "ALERTS", "TITLE"}};
  for (simdjson::dom::element in : incidents) {
    const int64_t alerts = int_at(in, "/alert_count");
    rows.push_back({str_at(in, "/id"), str_at(in, "/status"), str_at(in, "/severity"),
                    alerts < 0 ? "?" : std::to_string(alerts), printable(str_at(in, "/title"))});
  }
  print_table(rows);
  const int64_t matched = int_at(doc, "/matched");
  if (matched > static_cast<int64_t>(incidents.size())) {
    std::cerr << "klaxonctl: " << incidents.size() << " of " << matched
              << " matching incidents shown, newest first (--limit N for more)\n";
  }
  return 0;
}

// The incident as one JSON line, then its events, one JSON line each: the data-directory
// `show` format.
int api_incidents_show(ApiClient& api, const klaxon::IncidentId& id) {
  const std::string base = "/api/v1/incidents/" + id.to_string();
  std::string incident;
  if (int rc = api.call(http::verb::get, base, "", &incident)) return rc;
  print_body(incident);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (int rc = api.call_json(http::verb::get, base + "/timeline", "", parser, &doc)) return rc;
  simdjson::dom::array events;
  if (doc["events"].get(events) != simdjson::SUCCESS) {
    std::cerr << "klaxonctl: the timeline has no \"events\" list\n";
    return 2;
  }
  for (simdjson::dom::element e : events) std::cout << simdjson::minify(e) << "\n";
  bool damaged = false;
  if (doc["damaged"].get(damaged) == simdjson::SUCCESS && damaged) {
    std::cerr << "klaxonctl: the daemon could not decode some events of " << id.to_string()
              << "; run klaxonctl verify on its data directory\n";
    return 1;
  }
  return 0;
}

// ack, resolve, close, reopen, note, assign: one event on the incident's chain.
int api_incident_change(const Args& a, ApiClient& api, const std::string& action,
                        const klaxon::IncidentId& id) {
  std::string body;
  klaxon::JsonObjectWriter w(body);
  std::string path = action;
  if (action == "note") {
    if (!a.text || a.text->empty()) {
      std::cerr << "klaxonctl: incidents note needs --text TEXT\n";
      return 2;
    }
    path = "notes";
    w.str("text", *a.text);
  } else if (action == "assign") {
    if (!a.to) {
      std::cerr << "klaxonctl: incidents assign needs --to NAME (--to \"\" unassigns)\n";
      return 2;
    }
    w.str("assignee", *a.to);
  }
  if (a.comment && !a.comment->empty()) w.str("comment", *a.comment);
  w.close();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string raw;
  if (int rc = api.call_json(http::verb::post, "/api/v1/incidents/" + id.to_string() + "/" + path,
                             body, parser, &doc, &raw))
    return rc;
  if (a.json) {
    print_body(raw);
    return 0;
  }
  std::cout << id.to_string() << ": " << action << " recorded as event "
            << int_at(doc, "/event/seq") << "; status " << str_at(doc, "/incident/status");
  const std::string assignee = str_at(doc, "/incident/assignee");
  if (!assignee.empty()) std::cout << ", assigned to " << printable(assignee);
  std::cout << "\n";
  return 0;
}

// The evidence bundle as the daemon builds it (klaxonctl export does the same from a data
// directory). Written even when the chain does not verify, but then the exit status is 1.
int api_incident_export(const Args& a, ApiClient& api, const klaxon::IncidentId& id) {
  std::string bundle;
  if (int rc =
          api.call(http::verb::get, "/api/v1/incidents/" + id.to_string() + "/export", "", &bundle))
    return rc;
  while (!bundle.empty() && bundle.back() == '\n') bundle.pop_back();
  if (a.out.empty()) {
    std::cout << bundle << "\n";
  } else {
    std::ofstream f(a.out, std::ios::binary | std::ios::trunc);
    f << bundle << "\n";
    f.close();
    if (!f) {
      std::cerr << "klaxonctl: cannot write " << a.out << "\n";
      return 2;
    }
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool intact = true;
  if (parser.parse(bundle).get(doc) != simdjson::SUCCESS) {
    std::cerr << "klaxonctl: the evidence bundle is not JSON\n";
    return 2;
  }
  if (doc.at_pointer("/chain/intact").get(intact) == simdjson::SUCCESS && !intact) {
    std::cerr << "klaxonctl: the chain of " << id.to_string()
              << " does not verify; see chain.first_break\n";
    return 1;
  }
  return 0;
}

// matchers [{name, value, isRegex, isEqual}] back to the text they were given as.
std::string matchers_text(simdjson::dom::element silence) {
  simdjson::dom::array matchers;
  if (silence["matchers"].get(matchers) != simdjson::SUCCESS) return "";
  std::string out;
  for (simdjson::dom::element m : matchers) {
    bool regex = false, equal = true;
    if (m["isRegex"].get(regex) != simdjson::SUCCESS) regex = false;
    if (m["isEqual"].get(equal) != simdjson::SUCCESS) equal = true;
    if (!out.empty()) out += ',';
    out += str_at(m, "/name");
    out += equal ? (regex ? "=~" : "=") : (regex ? "!~" : "!=");
    out += '"';
    out += str_at(m, "/value");
    out += '"';
  }
  return printable(out);
}

int api_silences(const Args& a, ApiClient& api) {
  const std::string sub = a.positional.empty() ? "" : a.positional[0];
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string raw;
  if (sub == "list" && a.positional.size() == 1) {
    if (int rc = api.call_json(http::verb::get, "/api/v1/silences", "", parser, &doc, &raw))
      return rc;
    if (a.json) {
      print_body(raw);
      return 0;
    }
    simdjson::dom::array silences;
    if (doc["silences"].get(silences) != simdjson::SUCCESS) {
      std::cerr << "klaxonctl: the answer has no \"silences\" list\n";
      return 2;
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "STATE", "ENDS", "CREATED BY", "MATCHERS", "COMMENT"}};
    for (simdjson::dom::element s : silences) {
      rows.push_back({printable(str_at(s, "/id")), str_at(s, "/status/state"), str_at(s, "/endsAt"),
                      printable(str_at(s, "/createdBy")), matchers_text(s),
                      printable(str_at(s, "/comment"))});
    }
    print_table(rows);
    return 0;
  }
  if (sub == "add" && a.positional.size() == 1) {
    if (a.matchers.empty() || a.duration.empty() == a.until.empty()) {
      std::cerr << "klaxonctl: silences add needs --matcher 'NAME=\"VALUE\"' (one or more) and "
                   "one of --duration (2h) or --until (RFC 3339 UTC)\n";
      return 2;
    }
    std::string body;
    klaxon::JsonObjectWriter w(body);
    w.key("matchers");
    body.push_back('[');
    for (size_t i = 0; i < a.matchers.size(); ++i) {
      if (i) body.push_back(',');
      klaxon::append_json_string(body, a.matchers[i]);
    }
    body.push_back(']');
    if (!a.duration.empty()) w.str("duration", a.duration);
    if (!a.until.empty()) w.str("ends_at", a.until);
    if (a.comment) w.str("comment", *a.comment);
    w.close();
    if (int rc = api.call_json(http::verb::post, "/api/v1/silences", body, parser, &doc, &raw))
      return rc;
    if (a.json) {
      print_body(raw);
    } else {
      std::cout << "silence " << printable(str_at(doc, "/id")) << " (" << matchers_text(doc)
                << ") until " << str_at(doc, "/endsAt") << "\n";
    }
    return 0;
  }
  if (sub == "expire" && a.positional.size() == 2) {
    const std::string& id = a.positional[1];
    if (int rc = api.call_json(http::verb::delete_, "/api/v1/silences/" + url_encode(id), "",
                               parser, &doc, &raw))
      return rc;
    if (a.json) {
      print_body(raw);
    } else {
      std::cout << "silence " << printable(id) << " expired\n";
    }
    return 0;
  }
  std::cerr << "klaxonctl: silences expects 'list', 'add --matcher ...' or 'expire ID'\n";
  return usage(2);
}

int cmd_silences(const Args& a) {
  std::optional<ApiClient> api;
  if (int rc = make_client(a, api)) return rc;
  return api_silences(a, *api);
}

int cmd_incidents(const Args& a) {
  const std::string sub = a.positional.empty() ? "" : a.positional[0];
  const size_t n = a.positional.size();
  const bool with_id = sub == "show" || sub == "ack" || sub == "resolve" || sub == "close" ||
                       sub == "reopen" || sub == "note" || sub == "assign" || sub == "export";
  if (!((sub == "list" && n == 1) || (with_id && n == 2))) {
    std::cerr << "klaxonctl: incidents expects list, or show, ack, resolve, close, reopen, note, "
                 "assign or export with one ID\n";
    return usage(2);
  }
  // A data directory serves list and show, when no API is selected.
  if (api_url(a).empty() && (sub == "list" || sub == "show")) {
    if (a.data_dir.empty()) {
      std::cerr << "klaxonctl: incidents " << sub
                << " needs --api http://HOST:PORT (or KLAXON_API) or --data-dir DIR\n";
      return 2;
    }
    return sub == "list" ? cmd_incidents_list(a) : cmd_incidents_show(a, a.positional[1]);
  }
  std::optional<ApiClient> api;
  if (int rc = make_client(a, api)) return rc;
  if (sub == "list") return api_incidents_list(a, *api);
  const auto id = parse_id(a.positional[1]);
  if (!id) return 2;
  if (sub == "show") return api_incidents_show(*api, *id);
  if (sub == "export") return api_incident_export(a, *api, *id);
  return api_incident_change(a, *api, sub, *id);
}

// The SHA-256 of a token, as api.tokens[].sha256 wants it. The token comes on stdin, never
// as an argument (ps and shell history would keep it).
int cmd_token_hash() {
  std::string token;
  std::getline(std::cin, token);
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.size() < kMinTokenLength) {
    std::cerr << "klaxonctl: a token needs at least " << kMinTokenLength
              << " characters (e.g. openssl rand -hex 32)\n";
    return 2;
  }
  if (!token_is_clean(token)) {
    std::cerr << "klaxonctl: the token holds control characters\n";
    return 2;
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  std::string hex;
  klaxon::append_hex(hex, digest, sizeof digest);
  std::cout << hex << "\n";
  return 0;
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
  if (cmd == "silences") return cmd_silences(a);
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
  if (cmd == "token-hash") return cmd_token_hash();
  std::cerr << "klaxonctl: unknown command " << cmd << "\n";
  return usage(2);
}
