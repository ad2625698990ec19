#include "pipeline/sinks/request.h"

namespace klaxon::sinks {

Status attach_secrets(OutboundRequest& request, const IntegrationConfig& config) {
  if (request.integration != config.name || request.type != config.kind) {
    return make_error(ErrorCode::kInvalidArgument,
                      "request for " + request.integration + " given the config of " + config.name);
  }
  request.url = config.url + request.path;
  request.secret_headers.clear();
  switch (config.kind) {
    case SinkKind::kOpsgenie:
      request.secret_headers.emplace_back("Authorization", "GenieKey " + config.api_key);
      break;
    case SinkKind::kTheHive:
      request.secret_headers.emplace_back("Authorization", "Bearer " + config.api_key);
      break;
    default:
      break;
  }
  return ok_status();
}

namespace {

constexpr std::string_view kMagic = "KSR1";

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// Reads the stored form with bounds checks: the outbox is on disk, so it is input.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool string(std::string* s) {
    uint64_t n = 0;
    if (!varint(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string encode_request(const OutboundRequest& r) {
  std::string out;
  out.reserve(r.body.size() + 256);
  out.append(kMagic);
  put_string(out, r.integration);
  put_varint(out, static_cast<uint64_t>(r.type));
  put_string(out, r.receiver);
  put_varint(out, static_cast<uint64_t>(r.kind));
  put_string(out, r.idempotency_key);
  put_string(out, r.method);
  put_string(out, r.path);
  put_varint(out, r.headers.size());
  for (const auto& [k, v] : r.headers) {
    put_string(out, k);
    put_string(out, v);
  }
  put_string(out, r.body);
  put_string(out, r.mail_from);
  put_varint(out, r.rcpt_to.size());
  for (const auto& a : r.rcpt_to) put_string(out, a);
  put_varint(out, r.incident_ids.size());
  for (const auto& id : r.incident_ids) put_string(out, id);
  put_varint(out, static_cast<uint64_t>(r.created_ns));
  return out;
}

Result<OutboundRequest> decode_request(std::string_view bytes) {
  auto bad = [](const char* what) {
    return make_error(ErrorCode::kParse, std::string("stored sink request: ") + what);
  };
  if (bytes.substr(0, kMagic.size()) != kMagic) return bad("unknown format (no KSR1 magic)");
  Reader in(bytes.substr(kMagic.size()));
  OutboundRequest r;
  uint64_t type = 0, kind = 0, n = 0, created = 0;
  if (!in.string(&r.integration) || !in.varint(&type) || !in.string(&r.receiver) ||
      !in.varint(&kind) || !in.string(&r.idempotency_key) || !in.string(&r.method) ||
      !in.string(&r.path) || !in.varint(&n)) {
    return bad("truncated header");
  }
  if (type >= static_cast<uint64_t>(kSinkKindCount)) return bad("unknown sink type");
  if (kind > static_cast<uint64_t>(notify::NotifyKind::kReportDeadline)) {
    return bad("unknown notification kind");
  }
  r.type = static_cast<SinkKind>(type);
  r.kind = static_cast<notify::NotifyKind>(kind);
  if (n > bytes.size()) return bad("header count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!in.string(&k) || !in.string(&v)) return bad("truncated headers");
    r.headers.emplace_back(std::move(k), std::move(v));
  }
  if (!in.string(&r.body) || !in.string(&r.mail_from) || !in.varint(&n)) {
    return bad("truncated body");
  }
  if (n > bytes.size()) return bad("recipient count");
  r.rcpt_to.resize(n);
  for (auto& a : r.rcpt_to) {
    if (!in.string(&a)) return bad("truncated recipients");
  }
  if (!in.varint(&n) || n > bytes.size()) return bad("incident count");
  r.incident_ids.resize(n);
  for (auto& id : r.incident_ids) {
    if (!in.string(&id)) return bad("truncated incident ids");
  }
  if (!in.varint(&created)) return bad("truncated creation time");
  if (!in.done()) return bad("trailing bytes");
  r.created_ns = static_cast<int64_t>(created);
  return r;
}

}  // namespace klaxon::sinks
