#include "pipeline/notify/route.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <utility>

namespace klaxon::notify {

// ---------------------------------------------------------------------------------------------
// Durations

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000 * kMs;

struct Unit {
  std::string_view name;
  int64_t ns;
};
// Prometheus's order; each unit at most once, larger before smaller.
constexpr Unit kUnits[] = {{"y", 365 * 24 * 3600 * kSec},
                           {"w", 7 * 24 * 3600 * kSec},
                           {"d", 24 * 3600 * kSec},
                           {"h", 3600 * kSec},
                           {"m", 60 * kSec},
                           {"s", kSec},
                           {"ms", kMs}};

}  // namespace

Result<int64_t> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, "bad duration \"" + std::string(text) +
                                                       "\": " + std::string(why) +
                                                       " (expected e.g. 30s, 5m, 1h30m, 500ms)");
  };
  if (text == "0") return int64_t{0};
  if (text.empty()) return bad("empty");
  int64_t total = 0;
  size_t next_unit = 0;  // units already passed may not come again
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    const size_t digits_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return bad("too large");
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == digits_start) return bad("expected a number");
    size_t u = next_unit;
    for (; u < std::size(kUnits); ++u) {
      const auto name = kUnits[u].name;
      if (text.substr(i, name.size()) != name) continue;
      // "m" must not take the "m" of "ms".
      if (name == "m" && text.substr(i, 2) == "ms") continue;
      break;
    }
    if (u == std::size(kUnits)) return bad("expected a unit y, w, d, h, m, s or ms in order");
    if (n > std::numeric_limits<int64_t>::max() / kUnits[u].ns) return bad("too large");
    const int64_t part = n * kUnits[u].ns;
    if (total > std::numeric_limits<int64_t>::max() - part) return bad("too large");
    total += part;
    i += kUnits[u].name.size();
    next_unit = u + 1;
  }
  return total;
}

std::string format_duration(int64_t ns) {
  if (ns <= 0) return "0s";
  std::string out;
  int64_t rest = ns / kMs * kMs;
  for (const auto& u : kUnits) {
    if (rest >= u.ns) {
      out += std::to_string(rest / u.ns);
      out += u.name;
      rest %= u.ns;
    }
  }
  return out.empty() ? "0s" : out;
}

// ---------------------------------------------------------------------------------------------
// Matching

int NotifyRouting::find_receiver(std::string_view name) const {
  for (size_t i = 0; i < receivers_.size(); ++i) {
    if (receivers_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void NotifyRouting::match_from(uint32_t route, const Labels& labels,
                               std::vector<uint32_t>& out) const {
  // The caller checked this route's matchers.
  const size_t before = out.size();
  for (uint32_t c : routes_[route].children) {
    const Route& child = routes_[c];
    if (!matches_all(child.matchers, labels)) continue;
    match_from(c, labels, out);
    if (!child.continue_matching) break;
  }
  if (out.size() == before) out.push_back(route);
}

void NotifyRouting::match(const Labels& labels, std::vector<uint32_t>& out) const {
  out.clear();
  match_from(0, labels, out);
}

std::vector<uint32_t> NotifyRouting::match(const Labels& labels) const {
  std::vector<uint32_t> out;
  match(labels, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

constexpr int kMaxRouteDepth = 64;

Error config_error(const std::string& path, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, path + ": " + what);
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

Result<std::string> scalar_of(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return config_error(path, "expected a string, got " + describe(n));
  return n.Scalar();
}

Result<bool> bool_of(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return config_error(path, "expected true or false, got " + describe(n));
}

Result<int64_t> duration_of(const YAML::Node& n, const std::string& path) {
  auto s = scalar_of(n, path);
  if (!s) return s.error();
  auto d = parse_duration(*s);
  if (!d) return config_error(path, d.error().message);
  return *d;
}

Result<std::vector<std::string>> label_names_of(const YAML::Node& n, const std::string& path,
                                                bool allow_wildcard) {
  if (!n || n.IsNull()) return std::vector<std::string>{};
  if (!n.IsSequence())
    return config_error(path, "expected a list of label names, got " + describe(n));
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    auto s = scalar_of(n[i], p);
    if (!s) return s.error();
    if (s->empty()) return config_error(p, "empty label name");
    if (*s == "..." && !allow_wildcard) return config_error(p, "'...' is not allowed here");
    if (std::find(out.begin(), out.end(), *s) != out.end()) {
      return config_error(p, "duplicated label \"" + *s + "\"");
    }
    out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The matchers a node gives through `<prefix>match` (map: equality), `<prefix>match_re` (map:
// anchored regexes) and `<prefix>matchers` (list of matcher strings).
Result<Matchers> matchers_of(const YAML::Node& node, const std::string& path,
                             const std::string& prefix) {
  Matchers out;
  for (const bool re : {false, true}) {
    const std::string key = prefix + (re ? "match_re" : "match");
    const YAML::Node m = node[key];
    if (!m || m.IsNull()) continue;
    const std::string p = path + "." + key;
    if (!m.IsMap())
      return config_error(p, "expected a map of label name to value, got " + describe(m));
    for (const auto& kv : m) {
      auto name = scalar_of(kv.first, p);
      if (!name) return name.error();
      const std::string vp = p + "." + *name;
      auto value = scalar_of(kv.second, vp);
      if (!value) return value.error();
      if (!is_classic_label_name(*name)) return config_error(vp, "invalid label name");
      auto matcher = Matcher::make(*name, re ? MatchOp::kRegex : MatchOp::kEqual, *value);
      if (!matcher) return config_error(vp, matcher.error().message);
      out.push_back(std::move(*matcher));
    }
  }
  const std::string key = prefix + "matchers";
  const YAML::Node list = node[key];
  if (list && !list.IsNull()) {
    const std::string p = path + "." + key;
    if (!list.IsSequence()) {
      return config_error(
          p, "expected a list of matchers like 'severity=\"critical\"', got " + describe(list));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ip = p + "[" + std::to_string(i) + "]";
      auto text = scalar_of(list[i], ip);
      if (!text) return text.error();
      auto ms = parse_matchers(*text);
      if (!ms) return config_error(ip, ms.error().message);
      for (auto& m : *ms) out.push_back(std::move(m));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status check_keys(const YAML::Node& node, const std::string& path,
                  std::initializer_list<std::string_view> known) {
  for (const auto& kv : node) {
    const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string list;
    for (auto s : known) {
      if (!list.empty()) list += ", ";
      list += s;
    }
    return config_error(path + "." + k, "unknown key (expected one of: " + list + ")");
  }
  return ok_status();
}

struct RouteParser {
  std::vector<Route>* routes;
  const std::vector<Receiver>* receivers;

  int receiver_index(std::string_view name) const {
    for (size_t i = 0; i < receivers->size(); ++i) {
      if ((*receivers)[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }

  // Parses `node` as a child of `parent` (nullptr for the root) and appends it, then its
  // children, to *routes.
  Status parse(const YAML::Node& node, const std::string& path, const Route* parent, int depth) {
    if (depth > kMaxRouteDepth) return config_error(path, "routes nested too deeply");
    if (!node.IsMap()) return config_error(path, "expected a map, got " + describe(node));
    KLAXON_TRY(
        check_keys(node, path,
                   {"receiver", "group_by", "group_wait", "group_interval", "repeat_interval",
                    "continue", "matchers", "match", "match_re", "routes"}));
    Route r;
    if (parent != nullptr) {
      // Alertmanager's inheritance: what a route does not set, it takes from its parent.
      r.receiver = parent->receiver;
      r.group_by = parent->group_by;
      r.group_by_all = parent->group_by_all;
      r.group_wait_ns = parent->group_wait_ns;
      r.group_interval_ns = parent->group_interval_ns;
      r.repeat_interval_ns = parent->repeat_interval_ns;
      r.parent = static_cast<int32_t>(parent->index);
    }
    r.index = static_cast<uint32_t>(routes->size());

    if (const auto n = node["receiver"]; n && !n.IsNull()) {
      auto name = scalar_of(n, path + ".receiver");
      if (!name) return name.error();
      const int idx = receiver_index(*name);
      if (idx < 0) {
        return config_error(path + ".receiver",
                            "undefined receiver \"" + *name + "\" (not in notify.receivers)");
      }
      r.receiver = static_cast<uint32_t>(idx);
    } else if (parent == nullptr) {
      return config_error(path + ".receiver", "the root route must have a receiver");
    }

    if (const auto n = node["group_by"]; n) {
      auto names = label_names_of(n, path + ".group_by", true);
      if (!names) return names.error();
      r.group_by_all = std::find(names->begin(), names->end(), "...") != names->end();
      if (r.group_by_all && names->size() > 1) {
        return config_error(path + ".group_by",
                            "'...' (group by all labels) cannot be combined with other labels");
      }
      if (r.group_by_all) names->clear();
      r.group_by = std::move(*names);
    }
    struct {
      const char* key;
      int64_t* field;
      bool nonzero;
    } durations[] = {{"group_wait", &r.group_wait_ns, false},
                     {"group_interval", &r.group_interval_ns, true},
                     {"repeat_interval", &r.repeat_interval_ns, true}};
    for (const auto& d : durations) {
      const auto n = node[d.key];
      if (!n || n.IsNull()) continue;
      const std::string p = path + "." + d.key;
      auto v = duration_of(n, p);
      if (!v) return v.error();
      if (d.nonzero && *v == 0) return config_error(p, "cannot be zero");
      *d.field = *v;
    }
    if (const auto n = node["continue"]; n && !n.IsNull()) {
      auto b = bool_of(n, path + ".continue");
      if (!b) return b.error();
      r.continue_matching = *b;
    }
    auto matchers = matchers_of(node, path, "");
    if (!matchers) return matchers.error();
    r.matchers = std::move(*matchers);
    if (parent == nullptr) {
      if (!r.matchers.empty()) return config_error(path, "the root route must not have matchers");
      if (r.continue_matching)
        return config_error(path + ".continue", "not allowed on the root route");
      r.key = "{}";
    } else {
      r.key = parent->key + "/" + matchers_to_string(r.matchers);
      // Two siblings with the same matchers would share aggregation groups and the
      // notification log: make the later one's key unique.
      for (uint32_t sib : parent->children) {
        if ((*routes)[sib].key == r.key) {
          r.key += "/" + std::to_string(parent->children.size());
          break;
        }
      }
    }

    const uint32_t self = r.index;
    routes->push_back(std::move(r));

    if (const auto n = node["routes"]; n && !n.IsNull()) {
      if (!n.IsSequence()) return config_error(path + ".routes", "expected a list of routes");
      for (size_t i = 0; i < n.size(); ++i) {
        const auto child = static_cast<uint32_t>(routes->size());
        // A copy: *routes reallocates while the child's subtree is appended.
        const Route me = (*routes)[self];
        KLAXON_TRY(parse(n[i], path + ".routes[" + std::to_string(i) + "]", &me, depth + 1));
        (*routes)[self].children.push_back(child);
      }
    }
    return ok_status();
  }
};

Result<std::vector<Receiver>> parse_receivers(const YAML::Node& node, const std::string& path) {
  std::vector<Receiver> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) return config_error(path, "expected a list of receivers");
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const YAML::Node r = node[i];
    if (!r.IsMap()) return config_error(p, "expected a map with a name, got " + describe(r));
    const YAML::Node name = r["name"];
    if (!name) return config_error(p + ".name", "missing");
    auto s = scalar_of(name, p + ".name");
    if (!s) return s.error();
    if (s->empty()) return config_error(p + ".name", "empty receiver name");
    for (const auto& prev : out) {
      if (prev.name == *s)
        return config_error(p + ".name", "receiver name \"" + *s + "\" is not unique");
    }
    Receiver rec;
    rec.name = std::move(*s);
    if (const auto sr = r["send_resolved"]; sr && !sr.IsNull()) {
      auto b = bool_of(sr, p + ".send_resolved");
      if (!b) return b.error();
      rec.send_resolved = *b;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Result<std::vector<InhibitRule>> parse_inhibit_rules(const YAML::Node& node,
                                                     const std::string& path) {
  std::vector<InhibitRule> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) return config_error(path, "expected a list of inhibit rules");
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const YAML::Node r = node[i];
    InhibitRule rule;
    if (r.IsNull()) {  // `- ` alone: an empty rule, accepted (and inert) as by Alertmanager
      out.push_back(std::move(rule));
      continue;
    }
    if (!r.IsMap()) return config_error(p, "expected a map, got " + describe(r));
    KLAXON_TRY(check_keys(r, p,
                          {"source_match", "source_match_re", "source_matchers", "target_match",
                           "target_match_re", "target_matchers", "equal"}));
    auto source = matchers_of(r, p, "source_");
    if (!source) return source.error();
    auto target = matchers_of(r, p, "target_");
    if (!target) return target.error();
    auto equal = label_names_of(r["equal"], p + ".equal", false);
    if (!equal) return equal.error();
    rule.source = std::move(*source);
    rule.target = std::move(*target);
    rule.equal = std::move(*equal);
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<const NotifyRouting>> parse_routing(const YAML::Node& notify) {
  try {
    if (!notify.IsMap()) return config_error("notify", "expected a map with route and receivers");
    auto routing = std::make_shared<NotifyRouting>();
    auto receivers = parse_receivers(notify["receivers"], "notify.receivers");
    if (!receivers) return receivers.error();
    routing->receivers_ = std::move(*receivers);

    const YAML::Node route = notify["route"];
    if (!route || route.IsNull()) return config_error("notify.route", "missing");
    RouteParser parser{&routing->routes_, &routing->receivers_};
    KLAXON_TRY(parser.parse(route, "notify.route", nullptr, 0));

    auto rules = parse_inhibit_rules(notify["inhibit_rules"], "notify.inhibit_rules");
    if (!rules) return rules.error();
    routing->inhibit_rules_ = std::move(*rules);

    std::set<std::string> names;
    for (const auto& r : routing->routes_) {
      for (const auto& m : r.matchers) names.insert(m.name());
    }
    for (const auto& rule : routing->inhibit_rules_) {
      for (const auto& m : rule.source) names.insert(m.name());
      for (const auto& m : rule.target) names.insert(m.name());
    }
    routing->matched_names_.assign(names.begin(), names.end());
    return std::shared_ptr<const NotifyRouting>(std::move(routing));
  } catch (const YAML::Exception& e) {
    return config_error("notify", std::string("YAML: ") + e.what());
  }
}

Result<std::shared_ptr<const NotifyRouting>> parse_routing_yaml(std::string_view text) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kParse, std::string("notify: YAML: ") + e.what());
  }
  return parse_routing(node);
}

}  // namespace klaxon::notify
