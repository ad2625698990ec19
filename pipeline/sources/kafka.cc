#include "pipeline/sources/kafka.h"

// rdkafka.h first: rdkafka_mock.h depends on it.
#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <deque>

namespace klaxon {

namespace {

constexpr size_t kMaxKafkaMessage = 1 << 20;  // larger payloads are rejected as too_large

void log_cb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  const LogLevel l = level <= 3   ? LogLevel::kError
                     : level <= 4 ? LogLevel::kWarn
                     : level <= 6 ? LogLevel::kInfo
                                  : LogLevel::kDebug;
  log_event(l, "kafka", buf, {{"facility", fac}});
}

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

}  // namespace

KafkaSource::KafkaSource(KafkaOptions options, BoundedQueue<RawBatch>& out,
                         PipelineMetrics& metrics)
    : options_(std::move(options)),
      out_(out),
      metrics_(metrics),
      tm_(metrics.transport(Transport::kKafka)) {}

KafkaSource::~KafkaSource() {
  if (thread_.joinable()) finish();
}

Status KafkaSource::start() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return make_error(ErrorCode::kInvalidArgument,
                        options_.name + ": Kafka property " + k + ": " + err);
    }
    return ok_status();
  };
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options_.brokers},
      {"group.id", options_.group_id},
      // Offsets are stored by us, only for durable alerts, and committed by us.
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
  };
  for (const auto& [k, v] : options_.properties) props[k] = v;
  for (const auto& [k, v] : props) {
    if (auto s = set(k, v); !s) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_rebalance_cb(
      conf, [](rd_kafka_t*, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t* parts,
               void* opaque) { static_cast<KafkaSource*>(opaque)->on_rebalance(e, parts); });
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    return make_error(ErrorCode::kInvalidArgument,
                      options_.name + ": cannot create the Kafka consumer: " + err);
  }
  rd_kafka_poll_set_consumer(rk_);
  ListPtr topics(rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size())));
  for (const auto& t : options_.topics)
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto e = rd_kafka_subscribe(rk_, topics.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return make_error(ErrorCode::kInvalidArgument,
                      options_.name + ": subscribe: " + rd_kafka_err2str(e));
  }
  std::string topic_list;
  for (const auto& t : options_.topics) topic_list += (topic_list.empty() ? "" : ",") + t;
  log_event(LogLevel::kInfo, "kafka", "consuming",
            {{"source", options_.name},
             {"brokers", options_.brokers},
             {"topics", topic_list},
             {"group", options_.group_id}});
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void KafkaSource::stop_consuming() { consuming_.store(false); }

void KafkaSource::finish() {
  consuming_.store(false);
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  if (!rk_) return;
  drain_acks();
  store_durable();
  const auto e = rd_kafka_commit(rk_, nullptr, 0);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    log_event(LogLevel::kWarn, "kafka", "final commit failed", {{"error", rd_kafka_err2str(e)}});
  }
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  log_event(LogLevel::kInfo, "kafka", "consumer closed", {{"source", options_.name}});
}

void KafkaSource::pause_all(bool pause) {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || raw == nullptr) return;
  ListPtr list(raw);
  if (pause) {
    rd_kafka_pause_partitions(rk_, list.get());
    tm_.backpressure_pauses->Increment();
  } else {
    rd_kafka_resume_partitions(rk_, list.get());
  }
  paused_ = pause;
}

bool KafkaSource::push(std::unique_ptr<RawBatch>& batch) { return out_.try_push(batch); }

void KafkaSource::drain_acks() {
  std::vector<Ack> acks;
  {
    std::lock_guard<std::mutex> lock(acks_mu_);
    acks.swap(acks_);
  }
  for (const auto& a : acks) {
    auto it = partitions_.find(a.key);
    // Revoked meanwhile (the new owner re-reads it), or from an earlier assignment.
    if (it == partitions_.end() || it->second.generation != a.generation) continue;
    for (auto& f : it->second.inflight) {
      if (f.last_offset == a.last_offset) f.done = true;
    }
  }
}

void KafkaSource::store_durable() {
  ListPtr list(rd_kafka_topic_partition_list_new(4));
  for (auto& [key, st] : partitions_) {
    int64_t watermark = -1;
    size_t n = 0;
    while (n < st.inflight.size() && st.inflight[n].done) watermark = st.inflight[n++].last_offset;
    if (n == 0) continue;
    st.inflight.erase(st.inflight.begin(), st.inflight.begin() + static_cast<long>(n));
    // The offset to commit is the next one to read: last durable + 1.
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset =
        watermark + 1;
    st.stored = watermark;
  }
  if (list->cnt > 0) {
    const auto e = rd_kafka_offsets_store(rk_, list.get());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log_event(LogLevel::kWarn, "kafka", "offsets_store failed", {{"error", rd_kafka_err2str(e)}});
    }
    uncommitted_ = true;
  }
  const auto now = std::chrono::steady_clock::now();
  if (uncommitted_ && now - last_commit_ >= options_.commit_interval) {
    // Asynchronous: the result arrives through the poll loop; a failure is retried next time.
    const auto ce = rd_kafka_commit(rk_, nullptr, 1);
    if (ce == RD_KAFKA_RESP_ERR_NO_ERROR || ce == RD_KAFKA_RESP_ERR__NO_OFFSET)
      uncommitted_ = false;
    last_commit_ = now;
  }
}

void KafkaSource::on_rebalance(int err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk_)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i) {
      auto& st = partitions_[{parts->elems[i].topic, parts->elems[i].partition}];
      st = PartitionState{};
      st.generation = ++next_generation_;
    }
    log_event(LogLevel::kInfo, "kafka", "partitions assigned",
              {{"count", std::to_string(parts->cnt)}});
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk_, parts);
    }
    if (paused_ || !consuming_) {
      rd_kafka_pause_partitions(rk_, parts);
    }
    return;
  }
  // Revoked (or lost): make what was read from these partitions durable and commit it before
  // another member takes them, so that it starts where we really stopped.
  std::vector<Key> revoked;
  for (int i = 0; i < parts->cnt; ++i)
    revoked.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
  // Batches still waiting for queue room are given up: the new owner re-reads them.
  std::erase_if(pending_, [&](const std::unique_ptr<RawBatch>& b) {
    const Key k{b->kafka_topic, b->kafka_partition};
    if (std::find(revoked.begin(), revoked.end(), k) == revoked.end()) return false;
    std::erase_if(partitions_[k].inflight,
                  [&](const Inflight& f) { return f.last_offset == b->kafka_last_offset; });
    return true;
  });
  const auto deadline = std::chrono::steady_clock::now() + options_.revoke_drain_timeout;
  auto all_done = [&] {
    for (const auto& k : revoked) {
      for (const auto& f : partitions_[k].inflight) {
        if (!f.done) return false;
      }
    }
    return true;
  };
  while (std::chrono::steady_clock::now() < deadline) {
    drain_acks();
    if (all_done()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!all_done()) {
    log_event(LogLevel::kWarn, "kafka",
              "revoked partitions still had alerts in flight; they will be read again");
  }
  store_durable();
  const auto ce = rd_kafka_commit(rk_, nullptr, 0);
  if (ce != RD_KAFKA_RESP_ERR_NO_ERROR && ce != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    log_event(LogLevel::kWarn, "kafka", "commit on revoke failed",
              {{"error", rd_kafka_err2str(ce)}});
  }
  for (const auto& k : revoked) partitions_.erase(k);
  log_event(LogLevel::kInfo, "kafka", "partitions revoked",
            {{"count", std::to_string(parts->cnt)}});
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

void KafkaSource::run() {
  std::map<Key, std::unique_ptr<RawBatch>> batches;
  while (!stopping_.load()) {
    // Shutting down: batches still waiting for room are given up; their offsets are never
    // stored (their in-flight entries stay not done), so they are read again after restart.
    if (!consuming_.load()) pending_.clear();
    // Backpressure: hold what we have, pause fetching, keep serving the group protocol.
    if (!pending_.empty()) {
      while (!pending_.empty() && push(pending_.front())) pending_.erase(pending_.begin());
      if (!pending_.empty()) {
        if (!paused_) pause_all(true);
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 5))
          rd_kafka_message_destroy(m);  // paused: none
        drain_acks();
        store_durable();
        continue;
      }
    }
    if (!consuming_.load()) {
      if (!paused_) pause_all(true);
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 20)) rd_kafka_message_destroy(m);
      drain_acks();
      store_durable();
      continue;
    }
    if (paused_) pause_all(false);
    size_t n = 0, bytes = 0;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    while (m != nullptr) {
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          log_event(LogLevel::kWarn, "kafka", "consumer error",
                    {{"error", rd_kafka_message_errstr(m)}});
        }
      } else {
        const std::string topic = rd_kafka_topic_name(m->rkt);
        auto& b = batches[{topic, m->partition}];
        if (!b) {
          b = std::make_unique<RawBatch>();
          b->transport = Transport::kKafka;
          b->listener = options_.name;
          const auto f = options_.topic_formats.find(topic);
          b->format = f != options_.topic_formats.end() ? f->second : options_.format;
          b->kafka_topic = topic;
          b->kafka_partition = m->partition;
        }
        std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
        while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\r'))
          payload.remove_suffix(1);
        bytes += m->len;
        if (payload.empty() || payload.size() > kMaxKafkaMessage) {
          Rejection r;
          r.reason = payload.empty() ? RejectReason::kEmpty : RejectReason::kTooLarge;
          r.detail = payload.empty() ? "empty Kafka message" : "Kafka message over 1 MiB";
          r.sample.assign(payload.substr(0, kRejectSampleBytes));
          r.size = payload.size();
          r.transport = Transport::kKafka;
          r.listener = options_.name;
          r.received_ns = wall_ns();
          r.kafka_topic = topic;
          r.kafka_partition = m->partition;
          r.kafka_offset = m->offset;
          b->rejected.push_back(std::move(r));
        } else {
          b->frames.push_back(FrameRef{static_cast<uint32_t>(b->buffer.size()),
                                       static_cast<uint32_t>(payload.size())});
          b->kafka_offsets.push_back(m->offset);
          b->buffer.append(payload);
        }
        // The batch covers its rejections too, so the watermark can pass them.
        b->kafka_last_offset = m->offset;
        ++n;
      }
      rd_kafka_message_destroy(m);
      if (n >= options_.max_batch) break;
      m = rd_kafka_consumer_poll(rk_, 0);
    }
    if (n > 0) {
      tm_.received_messages->Increment(static_cast<double>(n));
      tm_.received_bytes->Increment(static_cast<double>(bytes));
    }
    for (auto& [key, b] : batches) {
      if (!b) continue;
      b->received_ns = wall_ns();
      b->enqueued_ns = monotonic_ns();
      b->buffer.append(kParsePadding, '\0');
      const int64_t last = b->kafka_last_offset;
      auto& st = partitions_[key];
      st.inflight.push_back(Inflight{last});
      b->on_durable = [this, key = key, generation = st.generation, last] {
        std::lock_guard<std::mutex> lock(acks_mu_);
        acks_.push_back(Ack{key, generation, last});
      };
      if (!push(b)) pending_.push_back(std::move(b));
    }
    batches.clear();
    drain_acks();
    store_durable();
  }
}

}  // namespace klaxon
