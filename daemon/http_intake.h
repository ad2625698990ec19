// HttpIntake: alerts over HTTP, answered only once they are durable.
//
//   POST /api/v1/alerts        a JSON object, a JSON array of objects, or NDJSON (objects
//                              separated by newlines or other whitespace); each object is one
//                              message of format `auto` (its JSON dialect recognised by keys)
//   POST /api/v1/alertmanager  the Alertmanager webhook payload (version 4): one alert each
//   POST /api/v2/alerts        what Prometheus sends to an Alertmanager (a JSON array of
//                              alerts), so Prometheus can point its alerting at klaxon
//
// Replies: 200 {"status":"success","received":N} once every message of the body is durable
// (stored as an alert, or as a dead letter when it was JSON but not a usable alert); 400 with
// the reason when the body is not JSON of the expected shape (nothing is stored); 401 when
// bearer tokens are configured and the request has none of them; 413 over http.max_body_size
// (HttpServer); 503 with Retry-After while draining, when the parse queue is full, or when
// durability took longer than durable_timeout (then the alerts may still be stored: a client
// that retries gets duplicates, which dedupe folds).
//
// Threads: requests arrive on the daemon's I/O thread; the answer is sent from the writer
// thread's durable callback through the server (which posts it back to the I/O thread).
#pragma once

#include "daemon/http_server.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/core/result.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {

struct HttpIntakeOptions {
  // Bearer tokens; empty: no authentication (the default listens on loopback only).
  std::vector<std::string> tokens;
  size_t max_messages = 100'000;  // per request
  std::chrono::milliseconds durable_timeout{std::chrono::seconds(30)};
};

enum class HttpEndpoint : uint8_t { kAlerts, kAlertmanager, kPrometheus };

// Where each message of `body` lies (body must have kParsePadding readable bytes after it),
// or why the body is malformed. An Alertmanager webhook is one frame holding `alerts` alerts.
// Exposed for tests.
struct HttpBody {
  std::vector<FrameRef> frames;
  size_t alerts = 0;
};
Result<HttpBody> split_http_body(HttpEndpoint endpoint, std::string_view body, size_t max_messages);

class HttpIntake {
 public:
  HttpIntake(boost::asio::io_context& io, HttpIntakeOptions options, BoundedQueue<RawBatch>& out,
             PipelineMetrics& metrics, prometheus::Registry& registry);
  void register_routes(HttpServer& server);
  void handle(HttpEndpoint endpoint, HttpRequest&& request, HttpServer::Respond respond);
  // SIGHUP: tokens rotate without a restart. I/O thread (where requests are checked).
  void set_tokens(std::vector<std::string> tokens) { options_.tokens = std::move(tokens); }
  // Draining: new requests get 503; pending() tells when the accepted ones are answered.
  void stop_accepting() { accepting_.store(false); }
  size_t pending() const { return pending_->load(); }

 private:
  bool authorized(std::string_view header) const;
  void count(HttpEndpoint endpoint, int status);

  boost::asio::io_context& io_;
  HttpIntakeOptions options_;
  BoundedQueue<RawBatch>& out_;
  TransportMetrics& transport_;
  prometheus::Family<prometheus::Counter>& requests_;
  std::atomic<bool> accepting_{true};
  // Shared with the durable callbacks, which may outlive a request's handler frame.
  std::shared_ptr<std::atomic<size_t>> pending_ = std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace klaxon
