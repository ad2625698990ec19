// Batches: what stages hand each other. Never single alerts.
//
// RawBatch flows from a source (I/O thread) to the parse workers: one buffer of received
// bytes and the frames found in it, so that framing copies nothing. EncodedBlock flows from a
// worker to the group-commit writer: a compressed block of normalized alerts plus the
// messages that were rejected on the way, each with its reason (they go to the dead-letter
// column family). A batch has one owner at a time; the queue hands ownership over.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/correlation.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {

// simdjson reads up to this many bytes past the end of a document; every buffer that a
// frame may be parsed from keeps this much readable slack after its last byte.
inline constexpr size_t kParsePadding = 64;

struct FrameRef {
  uint32_t offset = 0;
  uint32_t length = 0;
};

// A message rejected before or during parsing, with a bounded sample of its bytes.
struct Rejection {
  RejectReason reason = RejectReason::kNone;
  std::string detail;  // "expecting ... [col N]"
  std::string sample;  // the rejected bytes, at most kRejectSampleBytes
  uint64_t size = 0;   // the full size of what was rejected
  Transport transport = Transport::kTcp;
  std::string peer;
  std::string listener;
  int64_t received_ns = 0;
  // Kafka only: where the message was.
  std::string kafka_topic;
  int32_t kafka_partition = -1;
  int64_t kafka_offset = -1;
};
inline constexpr size_t kRejectSampleBytes = 4096;

// Called by the group-commit writer thread once everything a batch carried is durable
// (stored alerts and dead letters alike). Sources that acknowledge upstream (Kafka offsets,
// HTTP 2xx, Beats ACK) use it; it must be cheap and thread-safe (post, do not work).
using DurableCallback = std::function<void()>;

struct RawBatch {
  // Received bytes. It ends with kParsePadding bytes of slack after the last frame, so any
  // frame can be handed to simdjson in place.
  std::string buffer;
  std::vector<FrameRef> frames;     // complete frames inside buffer
  std::vector<Rejection> rejected;  // framing-level rejections found while filling it
  Transport transport = Transport::kTcp;
  std::string peer;
  std::string listener;
  InputFormat format = InputFormat::kAuto;  // the listener's (or topic's) configured format
  std::string tls_subject;                  // client certificate of a TLS connection, if any
  std::string tls_fingerprint;
  int64_t received_ns = 0;
  int64_t enqueued_ns = 0;  // monotonic, for queue-wait and latency metrics
  // Kafka only: the topic and partition of every frame, and each frame's offset.
  std::string kafka_topic;
  int32_t kafka_partition = -1;
  std::vector<int64_t> kafka_offsets;  // parallel to frames
  int64_t kafka_last_offset = -1;      // the last offset the batch covers, rejections included
  DurableCallback on_durable;          // may be empty

  std::string_view frame(const FrameRef& f) const {
    return std::string_view(buffer.data() + f.offset, f.length);
  }
};

// Block format (storage/README.md): header then payload.
//   u8 version (1) | u8 codec (0 none, 1 zstd) | u32 count | u32 raw_size | payload
// payload (after decompression) = count x (u32 little-endian length | alert record), the
// record being alert_record.h's binary form.
struct EncodedBlock {
  uint32_t count = 0;  // alerts in the block
  std::string bytes;   // header + (compressed) payload, ready to Put
  std::vector<Rejection> rejected;
  uint64_t raw_bytes = 0;                   // sum of the received frame sizes, for metrics
  int64_t oldest_enqueued_ns = 0;           // monotonic time the oldest input entered the pipeline
  std::vector<DurableCallback> on_durable;  // of the batches in this block
  // What correlation needs of the block's alerts (null when correlation is off).
  std::unique_ptr<CorrelationBatch> correlation;
};

}  // namespace klaxon
