#include "pipeline/sinks/deliverer.h"

#include "pipeline/core/clock.h"
#include "pipeline/sinks/retry.h"
#include "pipeline/sinks/signing.h"

#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace klaxon::sinks {

const char* outcome_name(AttemptResult::Outcome o) {
  switch (o) {
    case AttemptResult::kDelivered:
      return "delivered";
    case AttemptResult::kRetrying:
      return "retrying";
    case AttemptResult::kFailed:
      return "failed";
    case AttemptResult::kDropped:
      return "dropped";
  }
  return "unknown";
}

namespace {

constexpr size_t kMaxResponseBytes = 64 * 1024;  // kept for classification and the error text
constexpr int64_t kMaxPollMs = 1000;

struct Item {
  uint64_t id = 0;
  uint64_t seq = 0;  // submission order
  OutboundRequest req;
  std::string body_sha256;
  uint32_t attempts = 0;
  int64_t ready_mono_ns = 0;  // not before (backoff)
};

struct IntegrationMetrics {
  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* retrying = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Histogram* duration = nullptr;
  prometheus::Gauge* depth = nullptr;
  prometheus::Counter* dropped_queue_full = nullptr;
  prometheus::Counter* retries = nullptr;
};

struct Integration {
  IntegrationConfig cfg;
  IntegrationMetrics m;
  // Guarded by Impl::mu_.
  std::list<Item> queue;  // by seq; a list so that erasing leaves other items where they are
  uint32_t in_flight = 0;
  std::unordered_map<std::string, int> busy_incidents;  // incident id -> requests in flight
  TokenBucket bucket;
  // A queue of requests waiting out their backoff is not scanned again until the earliest of
  // them is due, unless something changed (a submit, a finished request, a retry queued).
  bool changed = true;
  int64_t next_scan_ns = 0;
};

struct Transfer {
  Integration* in = nullptr;
  Item item;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* rcpt = nullptr;
  std::string response;
  size_t read_pos = 0;
  int64_t start_mono_ns = 0;
  int64_t sent_wall_ns = 0;
  char errbuf[CURL_ERROR_SIZE] = {};
};

size_t write_cb(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const size_t len = size * n;
  if (t->response.size() < kMaxResponseBytes) {
    t->response.append(data, std::min(len, kMaxResponseBytes - t->response.size()));
  }
  return len;
}

size_t read_cb(char* buf, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const std::string& body = t->item.req.body;
  const size_t len = std::min(size * n, body.size() - t->read_pos);
  std::memcpy(buf, body.data() + t->read_pos, len);
  t->read_pos += len;
  return len;
}

// A header line from a name and a value we do not fully control: no CR, LF or NUL in it.
std::string header_line(std::string_view name, std::string_view value) {
  std::string line;
  line.reserve(name.size() + value.size() + 2);
  line.append(name);
  line.append(": ");
  for (char c : value) line.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  return line;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

struct Deliverer::Impl {
  Impl(Callback cb, DelivererOptions opts) : callback(std::move(cb)), options(opts) {
    rng.seed(opts.seed != 0 ? opts.seed : std::random_device{}());
  }

  ~Impl() {
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  void run();
  // Under mu_: moves ready items out of the queues; returns the earliest time (monotonic)
  // at which a waiting item becomes ready or a token arrives.
  int64_t collect_ready(int64_t now, std::vector<Transfer*>* out);
  void start_transfer(Transfer* t);
  void finish(Transfer* t, CURLcode result);
  void release(Transfer* t);
  AttemptResult base_result(const Integration& in, const Item& item) const;
  void queue_drop(Integration& in, const Item& item, const char* why);

  Callback callback;
  DelivererOptions options;
  std::mt19937_64 rng;  // delivery thread only
  CURLM* multi = nullptr;
  std::vector<std::unique_ptr<Integration>> integrations;
  std::unordered_map<std::string, Integration*> by_name;
  std::unordered_set<Transfer*> transfers;  // delivery thread only
  std::thread thread;

  mutable std::mutex mu;
  uint64_t next_seq = 0;             // guarded by mu
  std::vector<AttemptResult> drops;  // guarded by mu: reported on the delivery thread
  bool stopping = false;             // guarded by mu
  bool joined = false;               // guarded by mu
  std::chrono::steady_clock::time_point deadline{};  // guarded by mu
  std::vector<uint64_t> unfinished;  // written by the delivery thread before it exits
};

AttemptResult Deliverer::Impl::base_result(const Integration& in, const Item& item) const {
  AttemptResult a;
  a.id = item.id;
  a.integration = in.cfg.name;
  a.receiver = item.req.receiver;
  a.kind = item.req.kind;
  a.idempotency_key = item.req.idempotency_key;
  a.incident_ids = item.req.incident_ids;
  a.body_sha256 = item.body_sha256;
  return a;
}

void Deliverer::Impl::queue_drop(Integration& in, const Item& item, const char* why) {
  AttemptResult a = base_result(in, item);
  a.attempt = static_cast<int>(item.attempts);
  a.error = why;
  a.outcome = AttemptResult::kDropped;
  a.sent_ns = wall_ns();
  drops.push_back(std::move(a));
  in.m.dropped_queue_full->Increment();
}

int64_t Deliverer::Impl::collect_ready(int64_t now, std::vector<Transfer*>* out) {
  int64_t wake = INT64_MAX;
  for (auto& inp : integrations) {
    Integration& in = *inp;
    if (in.queue.empty() || in.in_flight >= in.cfg.max_in_flight) continue;
    if (!in.changed && now < in.next_scan_ns) {
      wake = std::min(wake, in.next_scan_ns);
      continue;
    }
    in.changed = false;
    int64_t in_wake = INT64_MAX;
    // Incidents with an earlier request still unfinished: later ones wait their turn.
    std::unordered_set<std::string_view> blocked;
    for (const auto& [id, n] : in.busy_incidents) blocked.insert(id);
    for (auto it = in.queue.begin(); it != in.queue.end();) {
      Item& item = *it;
      bool is_blocked = false;
      for (const auto& id : item.req.incident_ids) is_blocked |= blocked.count(id) > 0;
      if (is_blocked || item.ready_mono_ns > now) {
        if (!is_blocked) in_wake = std::min(in_wake, item.ready_mono_ns);
        for (const auto& id : item.req.incident_ids) blocked.insert(id);
        ++it;
        continue;
      }
      if (!in.bucket.take(now)) {
        in_wake = std::min(in_wake, in.bucket.next_token_ns(now));
        break;
      }
      auto* t = new Transfer;
      t->in = &in;
      t->item = std::move(item);
      it = in.queue.erase(it);
      for (const auto& id : t->item.req.incident_ids) {
        auto [pos, inserted] = in.busy_incidents.try_emplace(id, 0);
        ++pos->second;
        blocked.insert(pos->first);  // the map's key outlives this scan
      }
      out->push_back(t);
      if (++in.in_flight >= in.cfg.max_in_flight) break;
    }
    in.next_scan_ns = in_wake;
    wake = std::min(wake, in_wake);
    in.m.depth->Set(static_cast<double>(in.queue.size() + in.in_flight));
  }
  return wake;
}

void Deliverer::Impl::start_transfer(Transfer* t) {
  const IntegrationConfig& cfg = t->in->cfg;
  OutboundRequest& req = t->item.req;
  Status attached = attach_secrets(req, cfg);
  KLAXON_CHECK(attached.has_value());  // submit() found the integration by this name
  ++t->item.attempts;
  CURL* e = curl_easy_init();
  KLAXON_CHECK(e != nullptr);
  t->easy = e;
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  const long timeout_ms = static_cast<long>(std::max<int64_t>(1, cfg.timeout_ns / 1'000'000));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
  // Loopback never goes through a proxy from the environment (a local relay, a test).
  curl_easy_setopt(e, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!cfg.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, cfg.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);

  if (cfg.kind == SinkKind::kEmail) {
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    const std::string from = "<" + req.mail_from + ">";
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from.c_str());  // libcurl copies string options
    for (const auto& r : req.rcpt_to) t->rcpt = curl_slist_append(t->rcpt, ("<" + r + ">").c_str());
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, t);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (cfg.smtp_tls == SmtpTls::kStartTls) {
      curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    }
    if (!cfg.auth_username.empty()) {
      curl_easy_setopt(e, CURLOPT_USERNAME, cfg.auth_username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, cfg.auth_password.c_str());
    }
  } else {
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "klaxon/0.1");
    if (req.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
    for (const auto& [k, v] : req.headers) {
      t->headers = curl_slist_append(t->headers, header_line(k, v).c_str());
    }
    for (const auto& [k, v] : req.secret_headers) {
      t->headers = curl_slist_append(t->headers, header_line(k, v).c_str());
    }
    if (cfg.kind == SinkKind::kWebhook) {
      // Standard Webhooks: a fresh timestamp per attempt, the same id (receivers dedupe on it).
      const int64_t ts = wall_ns() / 1'000'000'000;
      t->headers =
          curl_slist_append(t->headers, header_line("webhook-id", req.idempotency_key).c_str());
      t->headers = curl_slist_append(t->headers,
                                     header_line("webhook-timestamp", std::to_string(ts)).c_str());
      t->headers = curl_slist_append(
          t->headers,
          header_line("webhook-signature", standard_webhooks_signature(
                                               cfg.signing_key, req.idempotency_key, ts, req.body))
              .c_str());
    }
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  }
  t->sent_wall_ns = wall_ns();
  t->start_mono_ns = monotonic_ns();
  KLAXON_CHECK(curl_multi_add_handle(multi, e) == CURLM_OK);
  transfers.insert(t);
}

void Deliverer::Impl::release(Transfer* t) {
  curl_multi_remove_handle(multi, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  curl_slist_free_all(t->rcpt);
  transfers.erase(t);
  delete t;
}

void Deliverer::Impl::finish(Transfer* t, CURLcode result) {
  Integration& in = *t->in;
  const IntegrationConfig& cfg = in.cfg;
  const int64_t now_mono = monotonic_ns();
  const int64_t now_wall = wall_ns();
  long reply = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &reply);
  int64_t retry_after = -1;
  curl_header* h = nullptr;
  if (cfg.kind != SinkKind::kEmail &&
      curl_easy_header(t->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
    retry_after = parse_retry_after(h->value, now_wall);
  }
  const Classification c =
      classify_transfer(cfg.kind, static_cast<int>(result), reply, t->response, t->errbuf);

  AttemptResult a = base_result(in, t->item);
  a.attempt = static_cast<int>(t->item.attempts);
  a.http_status = (result == CURLE_OK || cfg.kind == SinkKind::kEmail) ? reply : 0;
  a.error = c.reason;
  a.sent_ns = t->sent_wall_ns;
  a.latency_ns = now_mono - t->start_mono_ns;
  in.m.duration->Observe(static_cast<double>(a.latency_ns) / 1e9);

  bool requeue = false;
  int64_t delay = 0;
  switch (c.verdict) {
    case Verdict::kDelivered:
      a.outcome = AttemptResult::kDelivered;
      break;
    case Verdict::kPermanent:
      a.outcome = AttemptResult::kFailed;
      break;
    case Verdict::kRetry: {
      delay = retry_after >= 0 ? retry_after
                               : backoff_ns(options.backoff_base_ns, options.backoff_cap_ns,
                                            t->item.attempts + 1, rng);
      const int64_t window_end = t->item.req.created_ns + cfg.max_retry_duration_ns;
      if (t->item.attempts >= cfg.max_attempts) {
        a.outcome = AttemptResult::kFailed;
        a.error += " (gave up after " + std::to_string(t->item.attempts) + " attempts)";
      } else if (now_wall + delay > window_end) {
        a.outcome = AttemptResult::kFailed;
        a.error += " (the next attempt would fall after max_retry_duration)";
      } else {
        a.outcome = AttemptResult::kRetrying;
        a.next_attempt_ns = now_wall + delay;
        requeue = true;
      }
      break;
    }
  }
  switch (a.outcome) {
    case AttemptResult::kDelivered:
      in.m.delivered->Increment();
      break;
    case AttemptResult::kRetrying:
      in.m.retrying->Increment();
      in.m.retries->Increment();
      break;
    default:
      in.m.failed->Increment();
      break;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    --in.in_flight;
    in.changed = true;
    for (const auto& id : t->item.req.incident_ids) {
      auto it = in.busy_incidents.find(id);
      if (it != in.busy_incidents.end() && --it->second == 0) in.busy_incidents.erase(it);
    }
    if (requeue) {
      t->item.ready_mono_ns = now_mono + delay;
      auto pos = in.queue.end();  // back to its place in submission order
      while (pos != in.queue.begin() && std::prev(pos)->seq > t->item.seq) --pos;
      in.queue.insert(pos, std::move(t->item));
    }
    in.m.depth->Set(static_cast<double>(in.queue.size() + in.in_flight));
  }
  callback(a);
}

void Deliverer::Impl::run() {
  while (true) {
    std::vector<Transfer*> ready;
    std::vector<AttemptResult> dropped;
    int64_t wake = INT64_MAX;
    bool stop_now = false;
    std::chrono::steady_clock::time_point stop_deadline;
    {
      std::lock_guard<std::mutex> lock(mu);
      dropped.swap(drops);
      stop_now = stopping;
      stop_deadline = deadline;
      if (!stopping) wake = collect_ready(monotonic_ns(), &ready);
    }
    for (const auto& d : dropped) callback(d);
    for (Transfer* t : ready) start_transfer(t);

    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    bool finished_any = false;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      finish(t, msg->data.result);
      release(t);
      finished_any = true;
    }

    const auto now_tp = std::chrono::steady_clock::now();
    if (stop_now && (transfers.empty() || now_tp >= stop_deadline)) break;
    // A finished transfer frees a slot, unblocks its incidents or schedules a retry: look at
    // the queues again before sleeping (the wake time above predates it).
    if (finished_any) continue;
    long timeout_ms = kMaxPollMs;
    if (wake != INT64_MAX) {
      timeout_ms = std::min<long>(
          timeout_ms, std::max<int64_t>(0, (wake - monotonic_ns() + 999'999) / 1'000'000));
    }
    long curl_ms = -1;
    curl_multi_timeout(multi, &curl_ms);
    if (curl_ms >= 0) timeout_ms = std::min(timeout_ms, curl_ms);
    if (stop_now) {
      const auto left_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(stop_deadline - now_tp).count();
      timeout_ms = std::min<long>(timeout_ms, std::max<long>(0, static_cast<long>(left_ms)));
    }
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(timeout_ms), nullptr);
  }

  // Stopped: what is in flight now is abandoned without an outcome, like what is queued.
  std::vector<Transfer*> rest(transfers.begin(), transfers.end());
  for (Transfer* t : rest) {
    unfinished.push_back(t->item.id);
    std::lock_guard<std::mutex> lock(mu);
    --t->in->in_flight;
    t->in->busy_incidents.clear();
    release(t);
  }
  std::vector<AttemptResult> dropped;
  {
    std::lock_guard<std::mutex> lock(mu);
    dropped.swap(drops);
    for (auto& in : integrations) {
      for (const Item& item : in->queue) unfinished.push_back(item.id);
      in->queue.clear();
      in->m.depth->Set(0);
    }
  }
  for (const auto& d : dropped) callback(d);
  std::sort(unfinished.begin(), unfinished.end());
}

Result<std::unique_ptr<Deliverer>> Deliverer::start(std::vector<IntegrationConfig> integrations,
                                                    Callback on_attempt,
                                                    prometheus::Registry& registry,
                                                    DelivererOptions options) {
  init_curl_once();
  auto impl = std::make_unique<Impl>(std::move(on_attempt), options);
  auto& requests = prometheus::BuildCounter()
                       .Name("klaxon_sink_requests_total")
                       .Help(
                           "Notification delivery attempts, by integration and result "
                           "(delivered, retrying, failed)")
                       .Register(registry);
  auto& duration = prometheus::BuildHistogram()
                       .Name("klaxon_sink_request_duration_seconds")
                       .Help("Time from the start of a delivery attempt to its answer")
                       .Register(registry);
  auto& depth = prometheus::BuildGauge()
                    .Name("klaxon_sink_queue_depth")
                    .Help("Requests held per integration: queued, waiting to retry, in flight")
                    .Register(registry);
  auto& dropped = prometheus::BuildCounter()
                      .Name("klaxon_sink_dropped_total")
                      .Help("Requests dropped without delivery, by integration and reason")
                      .Register(registry);
  auto& retries = prometheus::BuildCounter()
                      .Name("klaxon_sink_retries_total")
                      .Help("Attempts that failed and were scheduled again")
                      .Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,   1,    2.5,   5,    10,  30};
  const int64_t now = monotonic_ns();
  for (auto& cfg : integrations) {
    if (impl->by_name.count(cfg.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "sinks: integration " + cfg.name + " is configured twice");
    }
    auto in = std::make_unique<Integration>();
    const std::string& n = cfg.name;
    in->m.delivered = &requests.Add({{"integration", n}, {"result", "delivered"}});
    in->m.retrying = &requests.Add({{"integration", n}, {"result", "retrying"}});
    in->m.failed = &requests.Add({{"integration", n}, {"result", "failed"}});
    in->m.duration = &duration.Add({{"integration", n}}, buckets);
    in->m.depth = &depth.Add({{"integration", n}});
    in->m.dropped_queue_full = &dropped.Add({{"integration", n}, {"reason", "queue_full"}});
    in->m.retries = &retries.Add({{"integration", n}});
    in->bucket = TokenBucket(cfg.rate_limit_per_minute, cfg.burst, now);
    in->cfg = std::move(cfg);
    impl->by_name.emplace(in->cfg.name, in.get());
    impl->integrations.push_back(std::move(in));
  }
  impl->multi = curl_multi_init();
  if (impl->multi == nullptr) return make_error(ErrorCode::kInternal, "curl_multi_init failed");
  Impl* p = impl.get();
  impl->thread = std::thread([p] { p->run(); });
  return std::unique_ptr<Deliverer>(new Deliverer(std::move(impl)));
}

Deliverer::Deliverer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Deliverer::~Deliverer() { stop(std::chrono::steady_clock::now()); }

bool Deliverer::submit(uint64_t id, OutboundRequest request) {
  Impl& d = *impl_;
  Item item;  // built before taking the lock: hashing the body is the one real cost here
  item.id = id;
  item.attempts = request.previous_attempts;
  item.body_sha256 = sha256_hex(request.body);
  item.req = std::move(request);
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.stopping) return false;
    auto found = d.by_name.find(item.req.integration);
    if (found == d.by_name.end() || found->second->cfg.kind != item.req.type) return false;
    Integration& in = *found->second;
    item.seq = d.next_seq++;
    if (in.queue.size() + in.in_flight >= in.cfg.queue_capacity) {
      if (in.cfg.overflow == Overflow::kDropOldest && !in.queue.empty()) {
        d.queue_drop(in, in.queue.front(), "queue full: dropped the oldest (drop_oldest)");
        in.queue.pop_front();
      } else {
        d.queue_drop(in, item, "queue full: dropped the newest (drop_newest)");
        curl_multi_wakeup(d.multi);
        return false;
      }
    }
    in.queue.push_back(std::move(item));
    in.changed = true;
    in.m.depth->Set(static_cast<double>(in.queue.size() + in.in_flight));
  }
  curl_multi_wakeup(d.multi);
  return true;
}

std::vector<uint64_t> Deliverer::stop(std::chrono::steady_clock::time_point deadline) {
  Impl& d = *impl_;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.joined) return {};
    d.joined = true;
    d.stopping = true;
    d.deadline = deadline;
  }
  curl_multi_wakeup(d.multi);
  d.thread.join();
  return std::move(d.unfinished);
}

size_t Deliverer::held(std::string_view integration) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->by_name.find(std::string(integration));
  return it == impl_->by_name.end() ? 0 : it->second->queue.size() + it->second->in_flight;
}

}  // namespace klaxon::sinks
