// OutboundRequest: one request to one integration, rendered from a Notification (render.h)
// and delivered, with retries, by the Deliverer (deliverer.h).
//
// The caller keeps requests in its persistent outbox between rendering and a final outcome,
// so a request has a stored form (encode_request / decode_request). The stored form holds no
// secret: no Authorization header and no URL (Slack and Teams webhook URLs are credentials),
// only the path to append to the integration's URL. attach_secrets() puts both back from
// the config at send time; the Deliverer does so before every attempt, which is also what
// makes a rotated key or URL apply to requests already in the outbox. The one secret left
// in a body is PagerDuty's routing_key, which the Events API wants there.
//
// Value type; any thread.
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/notify/notification.h"
#include "pipeline/sinks/config.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon::sinks {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct OutboundRequest {
  std::string integration;  // IntegrationConfig::name, "<receiver>/<kind>/<index>"
  SinkKind type = SinkKind::kWebhook;
  std::string receiver;
  notify::NotifyKind kind = notify::NotifyKind::kTrigger;
  // The notification's key, plus ":<incident id>" for the per-incident kinds (PagerDuty,
  // Opsgenie, TheHive). Standard Webhooks' webhook-id and the Idempotency-Key header.
  std::string idempotency_key;
  std::string method;     // "POST" (HTTP); empty for email
  std::string path;       // appended to the integration's URL ("" when the URL is complete)
  Headers headers;        // not secret: Content-Type, Idempotency-Key, X-Organisation...
  std::string body;       // the exact bytes sent (JSON, or the RFC 5322 message)
  std::string mail_from;  // SMTP envelope (email only): addr-spec
  std::vector<std::string> rcpt_to;  // SMTP envelope: addr-specs
  std::vector<std::string> incident_ids;
  int64_t created_ns = 0;  // wall clock; max_retry_duration counts from here

  // Filled by render() and attach_secrets(); never encoded.
  std::string url;                 // the integration's URL + path
  Headers secret_headers;          // Authorization
  uint32_t previous_attempts = 0;  // attempts already made (from the caller's outbox)
};

// Re-attaches the URL and the secret headers from the integration's config. Fails when the
// config is not the request's integration.
Status attach_secrets(OutboundRequest& request, const IntegrationConfig& config);

// The stored form: "KSR1", then the fields length-prefixed (LEB128). No secrets (see above).
std::string encode_request(const OutboundRequest& request);
Result<OutboundRequest> decode_request(std::string_view bytes);

}  // namespace klaxon::sinks
