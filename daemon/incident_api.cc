#include "daemon/incident_api.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/log.h"
#include "storage/audit.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>

namespace klaxon {

namespace {

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
}

HttpResponse error_response(int status, std::string_view message) {
  std::string body;
  JsonObjectWriter w(body);
  w.str("error", message);
  w.close();
  HttpResponse r = json_response(status, std::move(body));
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"klaxon\"");
  return r;
}

int status_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
      return 400;
    case ErrorCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out.push_back(static_cast<char>(v));
        i += 2;
      } else {
        out.push_back('%');
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// RFC 3339 ("2026-11-23T10:00:00Z", "...+01:00", fractions ignored) or Unix seconds.
bool parse_time(std::string_view text, int64_t* ns) {
  if (text.empty()) return false;
  if (text.find_first_not_of("0123456789.") == std::string_view::npos) {
    *ns = static_cast<int64_t>(std::strtod(std::string(text).c_str(), nullptr) * 1e9);
    return true;
  }
  std::tm tm{};
  const std::string t(text);
  const char* rest = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return false;
  if (*rest == '.')
    while (*++rest >= '0' && *rest <= '9') {
    }
  int64_t offset = 0;
  if (*rest == '+' || *rest == '-') {
    int h = 0, m = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &h, &m) != 2) return false;
    offset = (h * 3600 + m * 60) * (*rest == '+' ? 1 : -1);
  } else if (*rest != 'Z' && *rest != 'z') {
    return false;
  }
  *ns = (static_cast<int64_t>(timegm(&tm)) - offset) * 1'000'000'000;
  return true;
}

struct EndpointRole {
  const char* endpoint;
  ApiRole role;
};
// Who may do what: the one table both the handler and the tests read.
constexpr EndpointRole kEndpoints[] = {
    {"incidents_list", ApiRole::kViewer},
    {"incident_get", ApiRole::kViewer},
    {"timeline", ApiRole::kViewer},
    {"export", ApiRole::kViewer},
    {"ack", ApiRole::kResponder},
    {"resolve", ApiRole::kResponder},
    {"notes", ApiRole::kResponder},
    {"assign", ApiRole::kResponder},
    {"close", ApiRole::kAdmin},
    {"reopen", ApiRole::kAdmin},
    {"silences_list", ApiRole::kViewer},
    {"silence_create", ApiRole::kResponder},
    {"silence_expire", ApiRole::kResponder},
};

ApiRole role_of(const std::string& name) {
  if (name == "admin") return ApiRole::kAdmin;
  if (name == "responder") return ApiRole::kResponder;
  return ApiRole::kViewer;
}

}  // namespace

IncidentApi::IncidentApi(boost::asio::io_context& io, Store& store, CorrelateStage* correlate,
                         SilenceService* silences, IncidentApiOptions options,
                         prometheus::Registry& registry)
    : io_(io),
      store_(store),
      correlate_(correlate),
      silences_(silences),
      options_(std::move(options)),
      requests_(prometheus::BuildCounter()
                    .Name("klaxon_api_requests_total")
                    .Help("Incident API requests by endpoint and HTTP status")
                    .Register(registry)) {}

bool IncidentApi::allowed(ApiRole role, std::string_view endpoint) {
  for (const EndpointRole& e : kEndpoints) {
    if (endpoint == e.endpoint) return static_cast<int>(role) >= static_cast<int>(e.role);
  }
  return false;
}

void IncidentApi::count(std::string_view endpoint, int code) {
  requests_.Add({{"endpoint", std::string(endpoint)}, {"code", std::to_string(code)}}).Increment();
}

void IncidentApi::register_routes(HttpServer& http) {
  auto h = [this](HttpRequest&& req, HttpServer::Respond respond) {
    handle(std::move(req), std::move(respond));
  };
  http.route_prefix("/api/v1/incidents", h);
  http.route_prefix("/api/v1/silences", h);
}

const Config::ApiToken* IncidentApi::authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer)
    return nullptr;
  const std::string_view token = authorization.substr(kBearer.size());
  std::array<uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  // Every configured hash is compared, in constant time, whatever matched earlier.
  const Config::ApiToken* found = nullptr;
  for (const Config::ApiToken& t : options_.tokens) {
    if (CRYPTO_memcmp(t.sha256.data(), digest.data(), digest.size()) == 0 && found == nullptr)
      found = &t;
  }
  return found;
}

void IncidentApi::handle(HttpRequest&& req, HttpServer::Respond respond) {
  // Which endpoint: /api/v1/incidents[/{id}[/{action}]] or /api/v1/silences[/{id}[/expire]].
  const std::vector<std::string_view> parts = split(std::string_view(req.target).substr(8), '/');
  std::string endpoint;
  std::string_view id_text, action;
  const std::string& m = req.method;
  const bool get = m == "GET" || m == "HEAD";
  if (!parts.empty() && parts[0] == "incidents") {
    if (parts.size() == 1 && get) {
      endpoint = "incidents_list";
    } else if (parts.size() == 2 && get) {
      endpoint = "incident_get";
      id_text = parts[1];
    } else if (parts.size() == 3) {
      id_text = parts[1];
      action = parts[2];
      if (get && (action == "timeline" || action == "export")) {
        endpoint = std::string(action);
      } else if (m == "POST" && (action == "ack" || action == "resolve" || action == "close" ||
                                 action == "reopen" || action == "notes" || action == "assign")) {
        endpoint = std::string(action);
      }
    }
  } else if (!parts.empty() && parts[0] == "silences") {
    if (parts.size() == 1 && get) {
      endpoint = "silences_list";
    } else if (parts.size() == 1 && m == "POST") {
      endpoint = "silence_create";
    } else if ((parts.size() == 2 && m == "DELETE") ||
               (parts.size() == 3 && parts[2] == "expire" && m == "POST")) {
      endpoint = "silence_expire";
      id_text = parts[1];
    }
  }
  auto reply = [this, &respond, &endpoint](HttpResponse r) {
    count(endpoint.empty() ? "unknown" : endpoint, r.status);
    respond(std::move(r));
  };

  const Config::ApiToken* token = authenticate(req.authorization);
  if (token == nullptr) {
    reply(error_response(401, options_.tokens.empty()
                                  ? "the incident API needs a token: none is configured "
                                    "(api.tokens)"
                                  : "missing or unknown bearer token"));
    return;
  }
  if (endpoint.empty()) {
    reply(error_response(404, "no such endpoint: " + m + " " + req.target));
    return;
  }
  const Caller caller{token->name, role_of(token->role)};
  if (!allowed(caller.role, endpoint)) {
    reply(error_response(403, "role " + token->role + " may not " + endpoint));
    return;
  }

  if (endpoint == "incidents_list") {
    reply(list_incidents(req.query));
    return;
  }
  if (endpoint == "silences_list" || endpoint == "silence_create" || endpoint == "silence_expire") {
    if (silences_ == nullptr) {
      reply(error_response(503, "notification is not configured (notify:)"));
      return;
    }
    if (endpoint == "silences_list") {
      reply(json_response(200, silences_->list_silences_json()));
      return;
    }
    auto r = endpoint == "silence_create"
                 ? silences_->create_silence(req.body, "user:" + caller.name)
                 : silences_->expire_silence(id_text, "user:" + caller.name);
    reply(r ? json_response(endpoint == "silence_create" ? 201 : 200, std::move(*r))
            : error_response(status_of(r.error()), r.error().message));
    return;
  }

  const auto id = IncidentId::parse(id_text);
  if (!id) {
    reply(error_response(400, "not an incident id: " + std::string(id_text)));
    return;
  }
  if (endpoint == "incident_get") {
    auto in = store_.get_incident(*id);
    reply(in ? json_response(200, incident_json(*in))
             : error_response(status_of(in.error()), in.error().message));
    return;
  }
  if (endpoint == "timeline") {
    std::string body = "{\"incident\":\"" + id->to_string() + "\",\"events\":[";
    size_t n = 0;
    bool damaged = false;
    auto st = store_.for_each_incident_event(*id, [&](std::string_view, std::string_view v) {
      auto e = decode_incident_event(*id, v);
      if (!e) {
        damaged = true;
        return true;
      }
      if (n++) body.push_back(',');
      body += incident_event_json(*e);
      return true;
    });
    if (!st) {
      reply(error_response(500, st.error().message));
      return;
    }
    if (n == 0) {
      reply(error_response(404, "no incident " + id->to_string()));
      return;
    }
    body += "],\"damaged\":";
    body += damaged ? "true}" : "false}";
    reply(json_response(200, std::move(body)));
    return;
  }
  if (endpoint == "export") {
    auto bundle = export_incident_evidence(store_, *id);
    reply(bundle ? json_response(200, std::move(bundle->json))
                 : error_response(status_of(bundle.error()), bundle.error().message));
    return;
  }
  incident_change(*id, endpoint, caller, req.body, std::move(respond));
}

HttpResponse IncidentApi::list_incidents(std::string_view query) {
  std::vector<IncidentStatus> statuses;
  std::vector<std::string> severities, categories;
  int64_t since = 0, until = 0;
  size_t limit = 100;
  for (std::string_view kv : split(query, '&')) {
    const size_t eq = kv.find('=');
    const std::string_view key = kv.substr(0, eq);
    const std::string value = eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1));
    if (key == "status") {
      for (std::string_view s : split(value, ',')) {
        IncidentStatus st{};
        if (!parse_incident_status(s, &st))
          return error_response(400,
                                "status: expected open, acknowledged, resolved or closed, got \"" +
                                    std::string(s) + "\"");
        statuses.push_back(st);
      }
    } else if (key == "severity") {
      for (std::string_view s : split(value, ',')) severities.emplace_back(s);
    } else if (key == "category") {
      for (std::string_view s : split(value, ',')) categories.emplace_back(s);
    } else if (key == "since" || key == "until") {
      if (!parse_time(value, key == "since" ? &since : &until))
        return error_response(
            400, std::string(key) + ": expected RFC 3339 or Unix seconds, got \"" + value + "\"");
    } else if (key == "limit") {
      limit = std::strtoul(value.c_str(), nullptr, 10);
      if (limit == 0 || limit > 10'000) return error_response(400, "limit: expected 1..10000");
    } else if (!key.empty()) {
      return error_response(400, "unknown filter \"" + std::string(key) +
                                     "\" (status, severity, category, since, until, limit)");
    }
  }
  std::vector<Incident> found;
  uint64_t matched = 0;
  auto st = store_.for_each_incident([&](const Incident& in) {
    if (!statuses.empty() &&
        std::find(statuses.begin(), statuses.end(), in.status) == statuses.end())
      return true;
    if (!severities.empty() && std::find(severities.begin(), severities.end(),
                                         severity_name(in.severity)) == severities.end())
      return true;
    if (!categories.empty() &&
        std::find(categories.begin(), categories.end(), in.category) == categories.end())
      return true;
    if (since && in.created_ns < since) return true;
    if (until && in.created_ns >= until) return true;
    ++matched;
    found.push_back(in);
    // Newest first: keep the `limit` most recent.
    if (found.size() > 2 * limit) {
      std::nth_element(
          found.begin(), found.begin() + static_cast<long>(limit), found.end(),
          [](const Incident& a, const Incident& b) { return a.created_ns > b.created_ns; });
      found.resize(limit);
    }
    return true;
  });
  if (!st) return error_response(500, st.error().message);
  std::sort(found.begin(), found.end(),
            [](const Incident& a, const Incident& b) { return a.created_ns > b.created_ns; });
  if (found.size() > limit) found.resize(limit);
  std::string body = "{\"incidents\":[";
  for (size_t i = 0; i < found.size(); ++i) {
    if (i) body.push_back(',');
    body += incident_json(found[i]);
  }
  body += "],\"matched\":";
  append_int(body, static_cast<int64_t>(matched));
  body += ",\"returned\":";
  append_int(body, static_cast<int64_t>(found.size()));
  body.push_back('}');
  return json_response(200, std::move(body));
}

void IncidentApi::incident_change(const IncidentId& id, std::string_view action,
                                  const Caller& caller, std::string_view body,
                                  HttpServer::Respond respond) {
  const std::string endpoint(action);
  auto reply = [this, endpoint](const HttpServer::Respond& respond, HttpResponse r) {
    count(endpoint, r.status);
    respond(std::move(r));
  };
  if (correlate_ == nullptr) {
    reply(respond, error_response(503, "correlation is off (correlate.enabled: false)"));
    return;
  }
  // The body: optional for status changes, required for notes and assignment.
  std::string comment, text, assignee;
  bool has_assignee = false;
  if (!body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
      reply(respond, error_response(400, "the body must be a JSON object"));
      return;
    }
    std::string_view v;
    if (doc["comment"].get(v) == simdjson::SUCCESS) comment.assign(v);
    if (doc["text"].get(v) == simdjson::SUCCESS) text.assign(v);
    if (doc["assignee"].get(v) == simdjson::SUCCESS) {
      assignee.assign(v);
      has_assignee = true;
    }
  }
  if (comment.size() > 65536 || text.size() > 65536 || assignee.size() > 256) {
    reply(respond, error_response(400, "comment and text: at most 64 KiB; assignee: 256 bytes"));
    return;
  }
  IncidentOp op;
  op.incident = id;
  op.actor = "user:" + caller.name;
  op.time_ns = wall_ns();
  std::string data;
  JsonObjectWriter w(data);
  if (action == "ack") {
    op.type = IncidentEventType::kAcknowledged;
  } else if (action == "resolve") {
    op.type = IncidentEventType::kResolved;
  } else if (action == "close") {
    op.type = IncidentEventType::kClosed;
  } else if (action == "reopen") {
    op.type = IncidentEventType::kReopened;
  } else if (action == "notes") {
    if (text.empty()) {
      reply(respond, error_response(400, "a note needs {\"text\": \"...\"}"));
      return;
    }
    op.type = IncidentEventType::kNoteAdded;
    w.str("text", text);
  } else {  // assign
    if (!has_assignee) {
      reply(respond, error_response(400, "assign needs {\"assignee\": \"...\"} (\"\" unassigns)"));
      return;
    }
    op.type = IncidentEventType::kAssigned;
    op.assignee = assignee;
    w.str("assignee", assignee);
  }
  if (!comment.empty()) w.str("comment", comment);
  w.close();
  op.data = std::move(data);
  // The shard that owns the chain is found from the stored state's group.
  auto in = store_.get_incident(id);
  if (!in) {
    reply(respond, error_response(status_of(in.error()), in.error().code == ErrorCode::kNotFound
                                                             ? "no incident " + id.to_string()
                                                             : in.error().message));
    return;
  }
  op.group_hash = in->group_hash;
  // One answer: from the writer once durable, from the shard when refused, or from the
  // timer when neither came in time.
  struct Pending {
    std::atomic<bool> answered{false};
    HttpServer::Respond respond;
    boost::asio::steady_timer timer;
    explicit Pending(boost::asio::io_context& io) : timer(io) {}
  };
  auto pending = std::make_shared<Pending>(io_);
  // Counted until answered (any of the three ways below).
  auto counter = pending_;
  counter->fetch_add(1);
  pending->respond = [counter, inner = std::move(respond)](HttpResponse r) {
    inner(std::move(r));
    counter->fetch_sub(1);
  };
  op.done = [this, pending, reply](IncidentOpResult r) {
    if (pending->answered.exchange(true)) return;
    boost::asio::post(io_, [pending] { pending->timer.cancel(); });
    if (!r.status) {
      reply(pending->respond,
            error_response(status_of(r.status.error()), r.status.error().message));
      return;
    }
    std::string out = "{\"incident\":" + incident_json(r.state) + ",\"event\":{\"seq\":";
    append_int(out, static_cast<int64_t>(r.event_seq));
    out += ",\"hash\":\"" + hash_hex(r.event_hash) + "\"}}";
    reply(pending->respond, json_response(200, std::move(out)));
  };
  pending->timer.expires_after(options_.durable_timeout);
  pending->timer.async_wait([pending, reply](boost::system::error_code ec) {
    if (ec || pending->answered.exchange(true)) return;
    reply(pending->respond, error_response(503,
                                           "the change was not durable in time; it may "
                                           "still be applied: check the timeline"));
  });
  if (!correlate_->apply(std::move(op))) {
    if (!pending->answered.exchange(true)) {
      pending->timer.cancel();
      reply(pending->respond, error_response(503, "too many changes queued; retry"));
    }
  }
}

}  // namespace klaxon
