// klaxon_fuzz_seed_tool: turns the public test vectors (JSON Lines, ../shared/corpus/vectors)
// into seed files for the fuzz targets; make_seeds.sh calls it. A C++ helper because the
// vectors are JSON with \u escapes and latin1-encoded bytes, and a fresh Debian 12 has
// neither python3 nor jq.
//
//   klaxon_fuzz_seed_tool inputs OUT_DIR PREFIX [--header HEX] [--text TEXT] FILE...
//       one seed per line: its "input" string, or its "steps"[].append strings concatenated
//       (a framing stream), with HEX bytes and/or TEXT in front. Files are PREFIX-<n>.
//   klaxon_fuzz_seed_tool stream OUT_DIR NAME [--header HEX] [--framing lf|octet|octet-lf]
//                         [--limit N] FILE...
//       the first N inputs as one framed stream (LF-terminated, octet-counted, or octet-counted
//       with the LF inside the count), HEX in front: one framing_fuzz seed, OUT_DIR/NAME.
//   klaxon_fuzz_seed_tool stored OUT_DIR PREFIX FILE...
//       every "input" that MessageParser accepts, as an alert record (PREFIX-rec-<n>) and as a
//       one-alert block, stored and zstd-compressed (PREFIX-blk-<n>, PREFIX-blkz-<n>): seeds
//       for message_fuzz's read_alert_record / decode_block half.
#include "pipeline/core/alert_record.h"
#include "pipeline/core/block.h"
#include "pipeline/stages/parse.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The vectors write non-UTF-8 bytes as U+0000..U+00FF with "..._encoding": "latin1".
std::string from_latin1(std::string_view utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F)));
      i += 2;
    } else {  // not latin1 after all: keep the bytes
      out.push_back(static_cast<char>(c));
      ++i;
    }
  }
  return out;
}

std::optional<std::string> string_field(simdjson::dom::object o, const char* key,
                                        const char* encoding_key) {
  std::string_view s;
  if (o[key].get_string().get(s)) return std::nullopt;
  std::string_view encoding;
  if (!o[encoding_key].get_string().get(encoding) && encoding == "latin1") return from_latin1(s);
  return std::string(s);
}

// The bytes a vector feeds its parser: "input", a framing test's appended steps, or "raw"
// (the Falco examples' alert text).
std::optional<std::string> input_of(simdjson::dom::object o) {
  if (auto in = string_field(o, "input", "input_encoding")) return in;
  if (auto raw = string_field(o, "raw", "raw_encoding")) return raw;
  simdjson::dom::array steps;
  if (o["steps"].get_array().get(steps)) return std::nullopt;
  std::string stream;
  for (simdjson::dom::element step : steps) {
    simdjson::dom::object so;
    if (step.get_object().get(so)) continue;
    if (auto a = string_field(so, "append", "append_encoding")) stream += *a;
  }
  return stream;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

bool write_file(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

// Calls fn(input) for every vector in the JSON Lines files.
template <typename Fn>
bool for_each_input(const std::vector<std::string>& files, Fn&& fn) {
  simdjson::dom::parser parser;
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "seed_tool: cannot read " << file << "\n";
      return false;
    }
    std::string line;
    while (std::getline(in, line)) {
      simdjson::dom::object o;
      if (line.empty() || parser.parse(simdjson::padded_string(line)).get_object().get(o)) {
        continue;
      }
      if (auto input = input_of(o)) fn(*input);
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0]
              << " inputs|stream|stored OUT_DIR NAME [--header HEX] [--text TEXT]"
                 " [--framing lf|octet|octet-lf] [--limit N] FILE...\n";
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2], prefix = argv[3];
  std::string header, framing = "lf";
  size_t limit = SIZE_MAX;
  int first = 4;
  for (; first + 1 < argc && std::string_view(argv[first]).substr(0, 2) == "--"; first += 2) {
    const std::string_view opt = argv[first], value = argv[first + 1];
    if (opt == "--header") {
      header += from_hex(value);
    } else if (opt == "--text") {
      header += value;
    } else if (opt == "--framing") {
      framing = value;
    } else if (opt == "--limit") {
      limit = std::stoul(std::string(value));
    } else {
      std::cerr << "seed_tool: unknown option " << opt << "\n";
      return 2;
    }
  }
  const std::vector<std::string> files(argv + first, argv + argc);
  size_t n = 0;
  bool ok = true;

  if (mode == "inputs") {
    ok = for_each_input(files, [&](const std::string& input) {
      ok = ok && write_file(dir + "/" + prefix + "-" + std::to_string(n++), header + input);
    });
  } else if (mode == "stream") {
    // One framing stream of (at most `limit`) inputs, for framing_fuzz.
    std::string stream = header;
    ok = for_each_input(files, [&](const std::string& input) {
      if (n++ >= limit) return;
      if (framing == "lf") {
        stream += input + "\n";
      } else if (framing == "octet") {
        stream += std::to_string(input.size()) + " " + input;
      } else {  // octet-lf: syslog-ng's syslog() driver counts its trailing LF
        stream += std::to_string(input.size() + 1) + " " + input + "\n";
      }
    });
    n = std::min(n, limit);
    ok = ok && write_file(dir + "/" + prefix, stream);
  } else if (mode == "stored") {
    klaxon::MessageParser parser{klaxon::ParseOptions{}};
    klaxon::BlockBuilder stored(0), compressed(1);
    klaxon::IngestMeta meta;
    meta.peer = "192.0.2.1:51514";
    meta.listener = "syslog_tcp";
    meta.received_ns = 1'779'271'262'000'000'000LL;
    ok = for_each_input(files, [&](const std::string& input) {
      const std::string padded = input + std::string(klaxon::kParsePadding, '\0');
      klaxon::Alert alert;
      if (!parser
               .parse(std::string_view(padded.data(), input.size()), meta, meta.received_ns, alert)
               .ok()) {
        return;
      }
      std::string record;
      klaxon::append_alert_record(alert, record);
      const std::string id = std::to_string(n++);
      ok = ok && write_file(dir + "/" + prefix + "-rec-" + id, record);
      for (auto* b : {&stored, &compressed}) {
        b->begin_record().append(record);
        b->end_record();
        klaxon::EncodedBlock block;
        b->finish(block);
        ok = ok &&
             write_file(dir + "/" + prefix + (b == &stored ? "-blk-" : "-blkz-") + id, block.bytes);
      }
    });
  } else {
    std::cerr << "seed_tool: unknown mode " << mode << "\n";
    return 2;
  }
  if (!ok) return 1;
  std::cerr << "seed_tool: " << n << " seeds " << prefix << "-* in " << dir << "\n";
  return 0;
}
