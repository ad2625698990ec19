// JSONTestSuite (nst/JSONTestSuite, ../shared/corpus/JSONTestSuite/test_parsing) through the
// JSON body path an alert takes (JsonMapper, simdjson on-demand with full validation).
//   y_*: valid JSON. Objects must be accepted; any other top-level value is rejected on
//        purpose (an alert body is an object) and counted as "explained".
//   n_*: invalid JSON: must be rejected.
//   i_*: implementation-defined: must not crash; the outcome is reported.
#include "pipeline/core/batch.h"
#include "pipeline/stages/json_map.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

namespace klaxon {
namespace {

// n_ files klaxon accepts on purpose, with the reason: none today (all 188 are rejected).
// Any new acceptance fails the test unless it is added here with its reason.
const std::set<std::string> kExplainedAcceptedInvalid = {};

TEST(JsonConformance, JSONTestSuite) {
  const std::string dir = test::corpus_dir() + "/JSONTestSuite/test_parsing";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " missing";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files.push_back(e.path().filename());
  std::sort(files.begin(), files.end());
  JsonMapper mapper;
  int y_pass = 0, y_fail = 0, y_explained = 0, n_pass = 0, n_fail = 0, n_explained = 0, i_acc = 0,
      i_rej = 0;
  for (const auto& name : files) {
    std::string text = test::read_file(dir + "/" + name);
    const size_t len = text.size();
    text.append(kParsePadding, ' ');
    Alert alert;
    const bool accepted = mapper.map(std::string_view(text.data(), len), alert).ok();
    // Top-level object? (first non-space byte; a BOM-prefixed object is not an alert body)
    const size_t first = text.find_first_not_of(" \t\r\n");
    const bool is_object = first != std::string::npos && first < len && text[first] == '{';
    switch (name[0]) {
      case 'y':
        if (accepted)
          ++y_pass;
        else if (!is_object)
          ++y_explained;  // a valid non-object is not an alert
        else {
          ++y_fail;
          ADD_FAILURE() << "valid JSON object rejected: " << name;
        }
        break;
      case 'n':
        if (!accepted)
          ++n_pass;
        else if (kExplainedAcceptedInvalid.count(name))
          ++n_explained;
        else {
          ++n_fail;
          ADD_FAILURE() << "invalid JSON accepted: " << name;
        }
        break;
      default:
        (accepted ? i_acc : i_rej)++;
    }
  }
  std::printf(
      "conformance JSONTestSuite y_: %d passed, %d failed, %d explained (valid non-object "
      "bodies)\n",
      y_pass, y_fail, y_explained);
  std::printf("conformance JSONTestSuite n_: %d passed, %d failed, %d explained\n", n_pass, n_fail,
              n_explained);
  std::printf("conformance JSONTestSuite i_: %d accepted, %d rejected (implementation-defined)\n",
              i_acc, i_rej);
  EXPECT_GT(files.size(), 300u);  // the corpus was really read
}

}  // namespace
}  // namespace klaxon
