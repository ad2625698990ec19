// IncidentApi: the JSON API on klaxond's HTTP port for people and their tools (klaxonctl,
// chat bots): incidents (list, get, timeline, evidence export, acknowledge, resolve, close,
// reopen, note, assign) and silences (list, create, expire).
//
//   GET
//   /api/v1/incidents?status=open,acknowledged&severity=high&category=..&since=..&until=..&limit=100
//   GET    /api/v1/incidents/{id}            GET /api/v1/incidents/{id}/timeline
//   GET    /api/v1/incidents/{id}/export     the evidence bundle (storage/audit.h)
//   POST   /api/v1/incidents/{id}/ack|resolve|close|reopen   {"comment": ".."} (optional)
//   POST   /api/v1/incidents/{id}/notes      {"text": ".."}
//   POST   /api/v1/incidents/{id}/assign     {"assignee": ".."}
//   GET    /api/v1/silences                  POST /api/v1/silences   {matchers, starts_at, ends_at,
//   comment} DELETE /api/v1/silences/{id}             (also POST /api/v1/silences/{id}/expire)
//
// Authentication: `Authorization: Bearer <token>`; the configured tokens are SHA-256 hashes
// (config `api.tokens`), compared in constant time. Roles: viewer reads; responder also
// acknowledges, notes, assigns, resolves and manages silences; admin also closes and
// reopens. 401 without a known token, 403 for a role that may not: both before anything is
// read or written. The token's name is the actor of every change ("user:<name>").
//
// A change is an IncidentOp applied by the correlation shard that owns the incident (the
// chain's only writer); the answer (200 with the incident and the event's sequence and hash)
// goes out once the event is durable; 404 for an unknown incident, 409 for a change its
// status does not allow (acknowledging a closed incident), 503 when the change could not be
// queued or was not durable within http.durable_timeout. Errors are {"error": "..."}.
//
// Threads: handlers run on the daemon's I/O thread; reads go to RocksDB from there (bounded
// by `limit`); answers to changes come back from the incident writer's thread through the
// HTTP server's respond callback.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio.hpp>
// clang-format on

#include "daemon/config.h"
#include "daemon/http_server.h"
#include "pipeline/stages/correlate.h"
#include "storage/store.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {

enum class ApiRole : uint8_t { kViewer = 0, kResponder = 1, kAdmin = 2 };

// Silences belong to the notifier (daemon/notifier.h); the API reaches them through this.
// Calls come from the I/O thread; implementations synchronise.
class SilenceService {
 public:
  virtual ~SilenceService() = default;
  // `body`: {"matchers": ["host=\"web-01\"", ...], "starts_at": RFC 3339 (default now),
  // "ends_at": RFC 3339 | "duration": "2h", "comment": ".."}. Returns the silence as JSON.
  virtual Result<std::string> create_silence(std::string_view body, const std::string& actor) = 0;
  virtual Result<std::string> expire_silence(std::string_view id, const std::string& actor) = 0;
  virtual std::string list_silences_json() = 0;  // {"silences": [...]}
};

struct IncidentApiOptions {
  std::vector<Config::ApiToken> tokens;
  std::chrono::milliseconds durable_timeout{30'000};
};

class IncidentApi {
 public:
  // `correlate` and `silences` may be null (correlation or notification off): changes then
  // answer 503.
  IncidentApi(boost::asio::io_context& io, Store& store, CorrelateStage* correlate,
              SilenceService* silences, IncidentApiOptions options, prometheus::Registry& registry);
  void register_routes(HttpServer& http);
  // SIGHUP: tokens rotate without a restart. I/O thread.
  void set_tokens(std::vector<Config::ApiToken> tokens) { options_.tokens = std::move(tokens); }

  // What `role` may do at `method` + route (exposed for the role x endpoint test table).
  static bool allowed(ApiRole role, std::string_view endpoint);
  // Changes waiting for their answer: SIGTERM lets them finish before the I/O thread stops.
  size_t pending() const { return pending_->load(); }

 private:
  struct Caller {
    std::string name;
    ApiRole role;
  };
  void handle(HttpRequest&& req, HttpServer::Respond respond);
  const Config::ApiToken* authenticate(std::string_view authorization) const;
  void incident_change(const IncidentId& id, std::string_view action, const Caller& caller,
                       std::string_view body, HttpServer::Respond respond);
  HttpResponse list_incidents(std::string_view query);
  void count(std::string_view endpoint, int code);

  boost::asio::io_context& io_;
  Store& store_;
  CorrelateStage* correlate_;
  SilenceService* silences_;
  IncidentApiOptions options_;
  prometheus::Family<prometheus::Counter>& requests_;
  std::shared_ptr<std::atomic<size_t>> pending_ = std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace klaxon
