#include "daemon/http_intake.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"

#include <boost/asio/steady_timer.hpp>
#include <simdjson.h>

#include <mutex>

namespace klaxon {
namespace {

namespace od = simdjson::ondemand;

Error malformed(std::string why) { return make_error(ErrorCode::kInvalidArgument, std::move(why)); }

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

FrameRef frame_of(std::string_view body, std::string_view part) {
  return FrameRef{static_cast<uint32_t>(part.data() - body.data()),
                  static_cast<uint32_t>(part.size())};
}

// Full validation of one JSON text (on-demand reads lazily; the DOM parser checks it all).
// `text` lies inside the padded body, so the padding simdjson wants is readable.
Status validate_json(simdjson::dom::parser& dom, std::string_view text, const char* what) {
  simdjson::dom::element e;
  if (auto err = dom.parse(text.data(), text.size(), false).get(e)) {
    return malformed(std::string(what) + " is not valid JSON: " + simdjson::error_message(err));
  }
  return ok_status();
}

// Each element of a JSON array of objects.
Result<std::vector<FrameRef>> split_array(std::string_view body, std::string_view json,
                                          size_t max_messages, const char* what) {
  simdjson::dom::parser dom;
  KLAXON_TRY(validate_json(dom, json, "the body"));
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(json.data(), json.size(), json.size() + kParsePadding).get(doc))
    return malformed(std::string("the body is not valid JSON: ") + simdjson::error_message(err));
  od::array array;
  if (doc.get_array().get(array)) return malformed(std::string("expected ") + what);
  std::vector<FrameRef> frames;
  for (auto element : array) {
    od::object o;
    if (element.get_object().get(o)) return malformed(std::string("expected ") + what);
    std::string_view text;
    if (auto err = o.raw_json().get(text))
      return malformed(std::string("malformed element: ") + simdjson::error_message(err));
    if (frames.size() == max_messages)
      return malformed("more than " + std::to_string(max_messages) + " messages in one request");
    frames.push_back(frame_of(body, trim(text)));
  }
  return frames;
}

}  // namespace

Result<HttpBody> split_http_body(HttpEndpoint endpoint, std::string_view body,
                                 size_t max_messages) {
  std::string_view json = body;
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);  // a UTF-8 BOM
  json = trim(json);
  if (json.empty()) return malformed("empty body");
  // simdjson's document stream does not survive every broken input: check the bytes first.
  if (!simdjson::validate_utf8(json.data(), json.size()))
    return malformed("the body is not valid JSON: not UTF-8");
  switch (endpoint) {
    case HttpEndpoint::kAlertmanager: {
      if (json.front() != '{') return malformed("expected the Alertmanager webhook JSON object");
      simdjson::dom::parser dom;
      KLAXON_TRY(validate_json(dom, json, "the body"));
      simdjson::dom::element root = dom.parse(json.data(), json.size(), false).value_unsafe();
      simdjson::dom::array alerts;
      if (root["alerts"].get(alerts))
        return malformed("expected the Alertmanager webhook payload (no \"alerts\" array)");
      if (alerts.size() > max_messages)
        return malformed("more than " + std::to_string(max_messages) + " messages in one request");
      return HttpBody{{frame_of(body, json)}, alerts.size()};
    }
    case HttpEndpoint::kPrometheus: {
      auto frames = split_array(body, json, max_messages, "a JSON array of alerts");
      if (!frames) return frames.error();
      const size_t n = frames->size();
      return HttpBody{std::move(*frames), n};
    }
    case HttpEndpoint::kAlerts:
      break;
  }
  if (json.front() == '[') {
    auto frames = split_array(body, json, max_messages, "JSON objects");
    if (!frames) return frames.error();
    const size_t n = frames->size();
    return HttpBody{std::move(*frames), n};
  }
  if (json.front() != '{') return malformed("expected a JSON object, a JSON array or NDJSON");
  // One object, or several separated by whitespace (NDJSON).
  simdjson::dom::parser dom;
  std::vector<FrameRef> frames;
  od::parser parser;
  od::document_stream stream;
  if (auto err = parser.iterate_many(json.data(), json.size(), json.size() + 64).get(stream))
    return malformed(std::string("the body is not valid JSON: ") + simdjson::error_message(err));
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    if (auto err = (*it).error())
      return malformed(std::string("the body is not valid JSON: ") + simdjson::error_message(err));
    const std::string_view text = trim(it.source());
    if (text.empty() || text.front() != '{')
      return malformed("expected JSON objects (one per line)");
    KLAXON_TRY(validate_json(dom, text, "an object"));
    if (frames.size() == max_messages)
      return malformed("more than " + std::to_string(max_messages) + " messages in one request");
    frames.push_back(frame_of(body, text));
  }
  if (stream.truncated_bytes() > 0) return malformed("the body ends inside a JSON object");
  if (frames.empty()) return malformed("no JSON object in the body");
  const size_t n = frames.size();
  return HttpBody{std::move(frames), n};
}

HttpIntake::HttpIntake(boost::asio::io_context& io, HttpIntakeOptions options,
                       BoundedQueue<RawBatch>& out, PipelineMetrics& metrics,
                       prometheus::Registry& registry)
    : io_(io),
      options_(std::move(options)),
      out_(out),
      transport_(metrics.transport(Transport::kHttp)),
      requests_(prometheus::BuildCounter()
                    .Name("klaxon_http_intake_requests_total")
                    .Help("Alert intake requests over HTTP, by endpoint and status code")
                    .Register(registry)) {}

void HttpIntake::register_routes(HttpServer& server) {
  auto add = [&](const char* path, HttpEndpoint e) {
    server.route_post(path, [this, e](HttpRequest&& r, HttpServer::Respond respond) {
      handle(e, std::move(r), std::move(respond));
    });
  };
  add("/api/v1/alerts", HttpEndpoint::kAlerts);
  add("/api/v1/alertmanager", HttpEndpoint::kAlertmanager);
  add("/api/v2/alerts", HttpEndpoint::kPrometheus);
}

bool HttpIntake::authorized(std::string_view header) const {
  if (options_.tokens.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) return false;
  const std::string_view token = header.substr(kBearer.size());
  bool match = false;
  for (const auto& t : options_.tokens) {
    // Constant time over the token's bytes: the comparison does not leak a prefix length.
    unsigned diff = static_cast<unsigned>(t.size() ^ token.size());
    for (size_t i = 0; i < t.size(); ++i)
      diff |= static_cast<unsigned char>(t[i]) ^
              static_cast<unsigned char>(i < token.size() ? token[i] : 0);
    match |= diff == 0;
  }
  return match;
}

void HttpIntake::count(HttpEndpoint endpoint, int status) {
  static constexpr const char* kNames[] = {"/api/v1/alerts", "/api/v1/alertmanager",
                                           "/api/v2/alerts"};
  requests_
      .Add({{"endpoint", kNames[static_cast<size_t>(endpoint)]}, {"code", std::to_string(status)}})
      .Increment();
}

namespace {
HttpResponse json_reply(int status, std::string_view message, size_t received = 0) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  JsonObjectWriter w(r.body);
  if (status == 200) {
    w.str("status", "success");
    w.num("received", static_cast<int64_t>(received));
  } else {
    w.str("status", "error");
    w.str("error", message);
  }
  w.close();
  r.body.push_back('\n');
  return r;
}
}  // namespace

void HttpIntake::handle(HttpEndpoint endpoint, HttpRequest&& request, HttpServer::Respond respond) {
  auto reply = [&](HttpResponse r) {
    count(endpoint, r.status);
    respond(std::move(r));
  };
  if (!accepting_.load()) {
    HttpResponse r = json_reply(503, "draining");
    r.headers.emplace_back("Retry-After", "1");
    return reply(std::move(r));
  }
  if (!authorized(request.authorization)) {
    HttpResponse r = json_reply(401, "a valid bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"klaxon\"");
    return reply(std::move(r));
  }
  auto batch = std::make_unique<RawBatch>();
  batch->buffer = std::move(request.body);
  const size_t body_size = batch->buffer.size();
  batch->buffer.append(kParsePadding, '\0');
  auto frames = split_http_body(endpoint, std::string_view(batch->buffer.data(), body_size),
                                options_.max_messages);
  if (!frames) return reply(json_reply(400, frames.error().message));
  const size_t n = frames->alerts;
  if (endpoint == HttpEndpoint::kPrometheus) {
    // Prometheus posts the alerts alone; in the webhook envelope they map like any webhook
    // (each stored alert's raw bytes are still its own object, as Prometheus sent it).
    std::string wrapped = R"({"version":"4","receiver":"klaxon","alerts":)";
    wrapped.append(batch->buffer, 0, body_size);
    wrapped.push_back('}');
    const auto size = static_cast<uint32_t>(wrapped.size());
    wrapped.append(kParsePadding, '\0');
    batch->buffer = std::move(wrapped);
    frames->frames.assign(1, FrameRef{0, size});
  }
  batch->frames = std::move(frames->frames);
  batch->transport = Transport::kHttp;
  batch->peer = std::move(request.peer);
  batch->listener = "http";
  batch->format =
      endpoint == HttpEndpoint::kAlerts ? InputFormat::kAuto : InputFormat::kAlertmanager;
  batch->received_ns = wall_ns();
  batch->enqueued_ns = monotonic_ns();

  // Answered once: by the durable callback (writer thread) or by the timeout (I/O thread).
  struct Answer {
    std::mutex mu;
    bool done = false;
    HttpServer::Respond respond;
  };
  auto answer = std::make_shared<Answer>();
  answer->respond = std::move(respond);
  auto finish = [this, answer, endpoint, pending = pending_](HttpResponse r) {
    std::lock_guard<std::mutex> lock(answer->mu);
    if (answer->done) return;
    answer->done = true;
    count(endpoint, r.status);
    answer->respond(std::move(r));
    pending->fetch_sub(1);
  };
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.durable_timeout);
  batch->on_durable = [finish, timer, n] {
    finish(json_reply(200, "", n));
    // The timer lives on the I/O thread: cancel it there.
    boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  };
  pending_->fetch_add(1);
  if (!out_.try_push(batch)) {
    timer.reset();
    HttpResponse r = json_reply(503, "the pipeline is full; retry");
    r.headers.emplace_back("Retry-After", "1");
    finish(std::move(r));
    return;
  }
  transport_.received_messages->Increment(static_cast<double>(n));
  transport_.received_bytes->Increment(static_cast<double>(body_size));
  timer->async_wait([finish](boost::system::error_code ec) {
    if (ec) return;
    HttpResponse r = json_reply(503, "not yet durable; the alerts may still be stored");
    r.headers.emplace_back("Retry-After", "1");
    finish(std::move(r));
  });
}

}  // namespace klaxon
