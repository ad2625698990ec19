#include "pipeline/notify/silence.h"

#include "pipeline/core/json_writer.h"
#include "pipeline/stages/syslog_parse.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <set>
#include <utility>

namespace klaxon::notify {

SilenceState silence_state(const Silence& s, int64_t now_ns) {
  if (now_ns < s.starts_ns) return SilenceState::kPending;
  if (now_ns >= s.ends_ns) return SilenceState::kExpired;
  return SilenceState::kActive;
}

const char* silence_state_name(SilenceState s) {
  switch (s) {
    case SilenceState::kPending:
      return "pending";
    case SilenceState::kActive:
      return "active";
    case SilenceState::kExpired:
      return "expired";
  }
  return "unknown";
}

Status validate_silence(const Silence& s) {
  const std::string who = "silence " + (s.id.empty() ? std::string("(new)") : s.id);
  if (s.matchers.empty()) {
    return make_error(ErrorCode::kInvalidArgument, who + ": at least one matcher is required");
  }
  if (matches_empty(s.matchers)) {
    return make_error(ErrorCode::kInvalidArgument,
                      who + ": " + matchers_to_string(s.matchers) +
                          " would match every item; at least one matcher must not match the "
                          "empty string");
  }
  if (s.ends_ns <= s.starts_ns) {
    return make_error(ErrorCode::kInvalidArgument, who + ": the end must be after the start");
  }
  return ok_status();
}

Result<std::string> new_silence_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    return make_error(ErrorCode::kInternal, "RAND_bytes failed: no UUID for a new silence");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

void append_silence(std::string& out, const Silence& s, int64_t now_ns) {
  JsonObjectWriter w(out);
  w.str("id", s.id);
  w.key("matchers");
  out.push_back('[');
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    const Matcher& m = s.matchers[i];
    if (i > 0) out.push_back(',');
    JsonObjectWriter mw(out);
    mw.str("name", m.name());
    mw.str("value", m.value());
    mw.raw("isRegex", m.is_regex() ? "true" : "false");
    mw.raw("isEqual", m.is_negative() ? "false" : "true");
    mw.close();
  }
  out.push_back(']');
  auto time = [&](std::string_view k, int64_t ns) {
    w.key(k);
    out.push_back('"');
    append_rfc3339(ns, out);
    out.push_back('"');
  };
  time("startsAt", s.starts_ns);
  time("endsAt", s.ends_ns);
  w.str("createdBy", s.created_by);
  w.str("comment", s.comment);
  time("createdAt", s.created_ns);
  if (now_ns >= 0) {
    w.raw("status",
          std::string("{\"state\":\"") + silence_state_name(silence_state(s, now_ns)) + "\"}");
  }
  w.close();
}

Error json_error(const std::string& what) {
  return make_error(ErrorCode::kParse, "silence JSON: " + what);
}

Result<int64_t> time_field(simdjson::dom::object o, const char* key, bool required) {
  std::string_view text;
  const auto err = o[key].get(text);
  if (err == simdjson::NO_SUCH_FIELD && !required) return int64_t{0};
  if (err) return json_error(std::string("\"") + key + "\": expected an RFC 3339 time string");
  int64_t ns = 0;
  size_t consumed = 0;
  if (!parse_rfc3339(text, 0, &ns, &consumed) || consumed != text.size()) {
    return json_error(std::string("\"") + key + "\": bad RFC 3339 time \"" + std::string(text) +
                      "\"");
  }
  return ns;
}

Result<Silence> silence_from_element(simdjson::dom::element e) {
  simdjson::dom::object o;
  if (e.get(o)) return json_error("expected an object");
  Silence s;
  std::string_view sv;
  if (!o["id"].get(sv)) s.id = std::string(sv);
  if (!o["createdBy"].get(sv)) s.created_by = std::string(sv);
  if (!o["comment"].get(sv)) s.comment = std::string(sv);
  simdjson::dom::array ms;
  if (o["matchers"].get(ms)) return json_error("\"matchers\": expected an array");
  for (simdjson::dom::element me : ms) {
    simdjson::dom::object mo;
    std::string_view name, value;
    if (me.get(mo) || mo["name"].get(name) || mo["value"].get(value)) {
      return json_error("a matcher needs \"name\" and \"value\" strings");
    }
    bool is_regex = false;
    bool is_equal = true;
    if (auto r = mo["isRegex"].get(is_regex); r && r != simdjson::NO_SUCH_FIELD) {
      return json_error("\"isRegex\": expected true or false");
    }
    if (auto r = mo["isEqual"].get(is_equal); r && r != simdjson::NO_SUCH_FIELD) {
      return json_error("\"isEqual\": expected true or false");
    }
    const MatchOp op = is_regex ? (is_equal ? MatchOp::kRegex : MatchOp::kNotRegex)
                                : (is_equal ? MatchOp::kEqual : MatchOp::kNotEqual);
    auto m = Matcher::make(std::string(name), op, std::string(value));
    if (!m) return json_error(m.error().message);
    s.matchers.push_back(std::move(*m));
  }
  auto starts = time_field(o, "startsAt", true);
  if (!starts) return starts.error();
  auto ends = time_field(o, "endsAt", true);
  if (!ends) return ends.error();
  auto created = time_field(o, "createdAt", false);
  if (!created) return created.error();
  s.starts_ns = *starts;
  s.ends_ns = *ends;
  s.created_ns = *created;
  return s;
}

}  // namespace

std::string silence_to_json(const Silence& s, int64_t now_ns) {
  std::string out;
  append_silence(out, s, now_ns);
  return out;
}

Result<Silence> silence_from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(simdjson::padded_string(json)).get(doc)) {
    return json_error(simdjson::error_message(err));
  }
  return silence_from_element(doc);
}

// ---------------------------------------------------------------------------------------------
// SilenceSet

void SilenceSet::changed() {
  ++generation_;
  std::set<std::string> names;
  by_label_.clear();
  scan_.clear();
  for (uint32_t i = 0; i < silences_.size(); ++i) {
    const Silence& s = silences_[i];
    const Matcher* key = nullptr;
    for (const auto& m : s.matchers) {
      names.insert(m.name());
      if (key == nullptr && m.op() == MatchOp::kEqual && !m.value().empty()) key = &m;
    }
    if (key == nullptr) {
      scan_.push_back(i);
      continue;
    }
    auto it = std::find_if(by_label_.begin(), by_label_.end(),
                           [&](const auto& e) { return e.first == key->name(); });
    if (it == by_label_.end()) it = by_label_.insert(by_label_.end(), {key->name(), {}});
    it->second[key->value()].push_back(i);
  }
  names_.assign(names.begin(), names.end());
}

void SilenceSet::matching(const Labels& labels, std::vector<uint32_t>& out) const {
  const size_t first = out.size();
  for (const auto& [name, values] : by_label_) {
    auto it = values.find(label_value(labels, name));
    if (it == values.end()) continue;
    for (uint32_t i : it->second) {
      if (matches_all(silences_[i].matchers, labels)) out.push_back(i);
    }
  }
  for (uint32_t i : scan_) {
    if (matches_all(silences_[i].matchers, labels)) out.push_back(i);
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
}

Status SilenceSet::insert(Silence s) {
  auto it = by_id_.find(s.id);
  if (it != by_id_.end()) {
    silences_[it->second] = std::move(s);
  } else {
    by_id_.emplace(s.id, silences_.size());
    silences_.push_back(std::move(s));
  }
  changed();
  return ok_status();
}

Result<std::string> SilenceSet::add(Silence s, int64_t now_ns) {
  if (s.id.empty()) {
    auto id = new_silence_id();
    if (!id) return id.error();
    s.id = std::move(*id);
  }
  if (s.created_ns == 0) s.created_ns = now_ns;
  if (s.starts_ns < now_ns) s.starts_ns = now_ns;
  if (s.ends_ns <= now_ns) {
    return make_error(ErrorCode::kInvalidArgument,
                      "silence " + s.id + ": the end must be in the future");
  }
  KLAXON_TRY(validate_silence(s));
  std::string id = s.id;
  KLAXON_TRY(insert(std::move(s)));
  return id;
}

Status SilenceSet::restore(Silence s) {
  if (s.id.empty()) return make_error(ErrorCode::kInvalidArgument, "silence without an id");
  KLAXON_TRY(validate_silence(s));
  return insert(std::move(s));
}

Status SilenceSet::expire(std::string_view id, int64_t now_ns) {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) {
    return make_error(ErrorCode::kNotFound, "no silence " + std::string(id));
  }
  Silence& s = silences_[it->second];
  switch (silence_state(s, now_ns)) {
    case SilenceState::kExpired:
      return make_error(ErrorCode::kInvalidArgument, "silence " + s.id + " already expired");
    case SilenceState::kPending:
      s.starts_ns = now_ns;
      s.ends_ns = now_ns;
      break;
    case SilenceState::kActive:
      s.ends_ns = now_ns;
      break;
  }
  changed();
  return ok_status();
}

size_t SilenceSet::gc(int64_t now_ns, int64_t retention_ns) {
  const size_t before = silences_.size();
  silences_.erase(
      std::remove_if(silences_.begin(), silences_.end(),
                     [&](const Silence& s) { return s.ends_ns < now_ns - retention_ns; }),
      silences_.end());
  const size_t dropped = before - silences_.size();
  if (dropped > 0) {
    by_id_.clear();
    for (size_t i = 0; i < silences_.size(); ++i) by_id_.emplace(silences_[i].id, i);
    changed();
  }
  return dropped;
}

const Silence* SilenceSet::get(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &silences_[it->second];
}

const Silence* SilenceSet::active_match(const Labels& labels, int64_t now_ns) const {
  for (const auto& s : silences_) {
    if (silence_state(s, now_ns) == SilenceState::kActive && matches_all(s.matchers, labels)) {
      return &s;
    }
  }
  return nullptr;
}

std::string SilenceSet::to_json() const {
  std::string out = "[";
  for (size_t i = 0; i < silences_.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_silence(out, silences_[i], -1);
  }
  out.push_back(']');
  return out;
}

Result<SilenceSet> SilenceSet::from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(simdjson::padded_string(json)).get(doc)) {
    return json_error(simdjson::error_message(err));
  }
  simdjson::dom::array arr;
  if (doc.get(arr)) return json_error("expected an array of silences");
  SilenceSet set;
  for (simdjson::dom::element e : arr) {
    auto s = silence_from_element(e);
    if (!s) return s.error();
    KLAXON_TRY(set.restore(std::move(*s)));
  }
  return set;
}

}  // namespace klaxon::notify
