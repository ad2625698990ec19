// Config: klaxond's configuration, read from YAML (the embedded default when no file).
//
// Loading validates everything up front and fails with a message that names the file, the
// key and what was expected (unknown keys are errors: a typo must not silently become a
// default). Durations take "250ms", "30s", "5m", "1h" or plain seconds; sizes take "64KiB",
// "1MiB" or plain bytes. The full reference is deploy/klaxon.example.yaml.
// Immutable once loaded; reload builds a new one and swaps it in.
#pragma once

#include "enrich/enricher.h"
#include "pipeline/core/log.h"
#include "pipeline/core/result.h"
#include "pipeline/sources/kafka.h"
#include "pipeline/sources/syslog_tcp.h"
#include "pipeline/sources/syslog_udp.h"
#include "pipeline/stages/correlate.h"
#include "pipeline/stages/parse.h"

#include <array>
#include <string>
#include <vector>

namespace klaxon {

struct Config {
  std::string source_name = "<embedded default>";  // the file it came from, for messages
  std::string data_dir = "data";
  std::string http_listen = "127.0.0.1:9780";
  // Alert intake over HTTP (daemon/http_intake.h): bearer tokens (`http.tokens` and the lines
  // of `http.token_file`; none: no authentication), body and message limits, and how long a
  // request waits for durability before it gets 503.
  std::vector<std::string> http_tokens;
  size_t http_max_body_size = 16 << 20;
  size_t http_max_messages = 100'000;
  std::chrono::milliseconds http_durable_timeout{30'000};
  std::vector<SyslogTcpOptions> tcp;
  std::vector<SyslogUdpOptions> udp;
  std::vector<KafkaOptions> kafka;
  ParseStageOptions parse;
  CorrelateOptions correlate;  // `correlate:` and `dedupe:`
  // `audit:`: signed checkpoints of the incident chain heads (storage/audit.h). Both paths
  // lie outside data_dir; an empty signing_key turns checkpoints off.
  struct Audit {
    std::string signing_key;      // Ed25519 private key, PEM
    std::string checkpoint_file;  // where the latest signed checkpoint is kept
    std::chrono::milliseconds interval{60'000};
    bool generate_key = false;  // create the key pair (signing_key, .pub beside it) when missing
  } audit;
  // `enrich:`: lookups for each new incident's observables (enrich/enricher.h). DNS only by
  // default; RDAP and WHOIS send public addresses and names to outside registries, so they
  // are opt-in.
  struct Enrich {
    bool enabled = true;
    bool dns = true;
    bool rdap = false;
    bool whois = false;
    enrich::EnrichOptions options;
  } enrich;
  // `api.tokens`: who may use the incident API (daemon/incident_api.h), by the SHA-256 of
  // their bearer token, with a role: viewer (read), responder (ack, note, assign, resolve,
  // silences), admin (close, reopen). No tokens: the API answers 401 to everyone.
  struct ApiToken {
    std::string name;
    std::string role;
    std::array<uint8_t, 32> sha256{};
  };
  std::vector<ApiToken> api_tokens;
  // `notify:` (routes, receivers, inhibit_rules, policies) as YAML text, validated at load by
  // the notifier's parser (daemon/notifier.h). Empty: nobody is notified.
  std::string notify_yaml;
  size_t queue_capacity = 64;  // batches, per queue
  bool sync = true;            // fsync every group commit
  LogLevel log_level = LogLevel::kInfo;
  bool log_json = false;
};

// The embedded default configuration (YAML text).
const char* default_config_yaml();

Result<Config> load_config_file(const std::string& path);
// `name` is what messages call the text (a file name).
Result<Config> parse_config(const std::string& yaml_text, const std::string& name);

// Keys whose change needs a restart; returns their names when old and new differ.
std::vector<std::string> restart_required_changes(const Config& old_config,
                                                  const Config& new_config);

}  // namespace klaxon
