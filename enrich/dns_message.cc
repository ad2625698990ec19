#include "enrich/dns_message.h"

#include <algorithm>

namespace klaxon::enrich {

namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kMaxWireName = 255;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
// RFC 2181 §8: a TTL with the top bit set is treated as zero.
uint32_t ttl_value(const uint8_t* p) {
  const uint32_t v = be32(p);
  return (v & 0x80000000u) ? 0 : v;
}

// Reads the name at *offset. With out == nullptr the name is only skipped. *offset moves past
// the name as it appears at that place (a pointer takes two bytes). False when malformed.
bool read_name(const uint8_t* msg, size_t len, size_t* offset, std::string* out, bool* escaped) {
  size_t pos = *offset;
  size_t end_of_first = 0;  // where the name ends at its original place, once known
  size_t wire = 0;
  size_t limit = pos;  // a pointer must point strictly before the segment that holds it
  bool jumped = false;
  for (;;) {
    if (pos >= len) return false;
    const uint8_t b = msg[pos];
    if ((b & 0xc0) == 0xc0) {
      if (pos + 1 >= len) return false;
      const size_t target = static_cast<size_t>(((b & 0x3f) << 8) | msg[pos + 1]);
      if (target >= limit) return false;  // forward or self pointer: a possible loop
      if (!jumped) end_of_first = pos + 2;
      jumped = true;
      pos = target;
      limit = target;
      continue;
    }
    if ((b & 0xc0) != 0) return false;  // 0x40/0x80: extended label types, not in use
    wire += 1 + b;
    if (wire > kMaxWireName) return false;
    if (b == 0) {
      if (!jumped) end_of_first = pos + 1;
      break;
    }
    if (pos + 1 + b > len) return false;
    if (out) {
      if (!out->empty()) out->push_back('.');
      if (append_escaped_label(*out, msg + pos + 1, b) && escaped) *escaped = true;
    }
    pos += 1 + b;
  }
  *offset = end_of_first;
  return true;
}

struct Header {
  uint16_t qdcount, ancount, nscount;
};

// Skips the header and the question section; false when malformed.
bool skip_questions(const uint8_t* msg, size_t len, size_t* pos, Header* h) {
  if (len < kHeaderBytes) return false;
  h->qdcount = be16(msg + 4);
  h->ancount = be16(msg + 6);
  h->nscount = be16(msg + 8);
  *pos = kHeaderBytes;
  for (uint16_t i = 0; i < h->qdcount; ++i) {
    if (!read_name(msg, len, pos, nullptr, nullptr) || *pos + 4 > len) return false;
    *pos += 4;
  }
  return true;
}

struct RecordHeader {
  uint16_t type, klass;
  uint32_t ttl;
  size_t rdata, rdlength;
};

bool read_record(const uint8_t* msg, size_t len, size_t* pos, RecordHeader* r) {
  if (!read_name(msg, len, pos, nullptr, nullptr) || *pos + 10 > len) return false;
  const uint8_t* p = msg + *pos;
  r->type = be16(p);
  r->klass = be16(p + 2);
  r->ttl = ttl_value(p + 4);
  r->rdlength = be16(p + 8);
  r->rdata = *pos + 10;
  if (r->rdata + r->rdlength > len) return false;
  *pos = r->rdata + r->rdlength;
  return true;
}

bool is_keep_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

bool append_escaped_label(std::string& out, const uint8_t* label, size_t n) {
  bool escaped = false;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = label[i];
    if (is_keep_byte(c)) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    escaped = true;
    out.push_back('\\');
    out.push_back(static_cast<char>('0' + c / 100));
    out.push_back(static_cast<char>('0' + (c / 10) % 10));
    out.push_back(static_cast<char>('0' + c % 10));
  }
  return escaped;
}

Result<PtrRecords> parse_ptr_response(const uint8_t* msg, size_t len, size_t max_names) {
  size_t pos = 0;
  Header h{};
  if (!skip_questions(msg, len, &pos, &h)) return make_error(ErrorCode::kParse, "dns header");
  PtrRecords out;
  bool have_ttl = false;
  for (uint16_t i = 0; i < h.ancount; ++i) {
    RecordHeader r{};
    if (!read_record(msg, len, &pos, &r)) return make_error(ErrorCode::kParse, "dns record");
    if (r.klass != 1 || (r.type != kDnsTypePtr && r.type != kDnsTypeCname)) continue;
    out.ttl = have_ttl ? std::min(out.ttl, r.ttl) : r.ttl;
    have_ttl = true;
    if (r.type != kDnsTypePtr) continue;
    std::string name;
    bool escaped = false;
    size_t at = r.rdata;
    if (!read_name(msg, len, &at, &name, &escaped) || at != r.rdata + r.rdlength) {
      return make_error(ErrorCode::kParse, "ptr rdata");
    }
    if (name.empty()) name.push_back('.');  // the root: legal, if odd
    if (out.names.size() >= max_names) {
      ++out.over_cap;
      continue;
    }
    if (escaped) ++out.escaped;
    out.names.push_back(std::move(name));
  }
  return out;
}

std::optional<uint32_t> negative_ttl(const uint8_t* msg, size_t len) {
  size_t pos = 0;
  Header h{};
  if (!skip_questions(msg, len, &pos, &h)) return std::nullopt;
  RecordHeader r{};
  for (uint16_t i = 0; i < h.ancount; ++i) {
    if (!read_record(msg, len, &pos, &r)) return std::nullopt;
  }
  for (uint16_t i = 0; i < h.nscount; ++i) {
    if (!read_record(msg, len, &pos, &r)) return std::nullopt;
    if (r.type != kDnsTypeSoa || r.klass != 1) continue;
    size_t at = r.rdata;
    if (!read_name(msg, len, &at, nullptr, nullptr) || !read_name(msg, len, &at, nullptr, nullptr))
      return std::nullopt;
    if (at + 20 != r.rdata + r.rdlength) return std::nullopt;
    return std::min(r.ttl, ttl_value(msg + at + 16));  // MINIMUM is the last field
  }
  return std::nullopt;
}

int response_rcode(const uint8_t* msg, size_t len) {
  if (len < kHeaderBytes) return -1;
  return msg[3] & 0x0f;
}

}  // namespace klaxon::enrich
