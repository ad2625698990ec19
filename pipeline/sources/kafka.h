// KafkaSource: a Kafka consumer-group member (librdkafka) feeding the pipeline, at least
// once and without loss.
//
// One thread polls the consumer and turns each poll's messages into one RawBatch per
// partition (each frame keeps its topic, partition and offset). A batch carries a
// DurableCallback: when the group-commit writer has made the batch durable, the callback
// marks it done; the consumer thread then advances each partition's durable watermark over
// the contiguous prefix of done batches and stores watermark + 1 with
// rd_kafka_offsets_store() (librdkafka 2.0.2 stores exactly the offset given), and commits
// what is stored every commit_interval (auto-commit is off), so no committed offset ever
// passes what is durable. On a rebalance the partitions being revoked are drained (their
// in-flight batches made durable, stored, committed synchronously) before they are given up.
// When the parse queue is full, every assigned partition is paused (nothing is dropped) and
// resumed once the batch fits. Messages that do not parse go to the dead-letter store with
// their topic/partition/offset, like every rejection.
//
// Threads: start()/stop() from the daemon's thread; poll loop on its own thread; the
// durable callbacks run on the writer thread and only append to a mutex-protected list.
#pragma once

#include "pipeline/core/batch.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/core/result.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;

namespace klaxon {

struct KafkaOptions {
  std::string name = "kafka";
  std::string brokers;
  std::vector<std::string> topics;
  // What the messages are (alert.h InputFormat); per topic where `topic_formats` names it.
  InputFormat format = InputFormat::kAuto;
  std::map<std::string, InputFormat> topic_formats;
  std::string group_id = "klaxon";
  // Passed to librdkafka as they are (security.protocol, sasl.*, ssl.*, ...).
  std::map<std::string, std::string> properties;
  size_t max_batch = 4096;  // messages per RawBatch
  std::chrono::milliseconds revoke_drain_timeout{std::chrono::seconds(10)};
  // How often stored offsets are committed (asynchronously). What a crash re-reads is at
  // most this much consumption plus the batches in flight.
  std::chrono::milliseconds commit_interval{100};
};

class KafkaSource {
 public:
  KafkaSource(KafkaOptions options, BoundedQueue<RawBatch>& out, PipelineMetrics& metrics);
  ~KafkaSource();

  // Creates the consumer, subscribes, starts the poll thread. Errors name the property.
  Status start();
  // Stops fetching: the poll thread pauses every partition and keeps serving callbacks.
  void stop_consuming();
  // After the pipeline has drained (every durable callback fired): stores and commits the
  // final offsets, leaves the group, joins the thread.
  void finish();

 private:
  struct Inflight {
    int64_t last_offset;
    bool done = false;
  };
  struct PartitionState {
    std::vector<Inflight> inflight;  // in offset order
    int64_t stored = -1;             // last offset stored (next fetch = stored + 1)
    // Which assignment this is: an acknowledgement from batches of an earlier assignment
    // of the same partition (revoked, then assigned back) must not mark new batches done.
    uint64_t generation = 0;
  };
  struct Ack {
    std::pair<std::string, int32_t> key;
    uint64_t generation;
    int64_t last_offset;
  };
  using Key = std::pair<std::string, int32_t>;

  void run();
  void on_rebalance(int err, rd_kafka_topic_partition_list_t* partitions);
  void drain_acks();
  void store_durable();
  bool push(std::unique_ptr<RawBatch>& batch);
  void pause_all(bool pause);

  KafkaOptions options_;
  BoundedQueue<RawBatch>& out_;
  PipelineMetrics& metrics_;
  TransportMetrics& tm_;
  rd_kafka_t* rk_ = nullptr;
  std::thread thread_;
  std::atomic<bool> consuming_{true};
  std::atomic<bool> stopping_{false};
  std::map<Key, PartitionState> partitions_;  // poll thread only
  std::mutex acks_mu_;
  std::vector<Ack> acks_;  // durable batches, from the writer thread
  uint64_t next_generation_ = 0;
  bool paused_ = false;
  std::chrono::steady_clock::time_point last_commit_{};
  bool uncommitted_ = false;
  std::vector<std::unique_ptr<RawBatch>> pending_;  // waiting for room in the parse queue
};

}  // namespace klaxon
