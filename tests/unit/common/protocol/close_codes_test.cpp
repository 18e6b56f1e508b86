#include "common/protocol/close_codes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace wsgw::protocol {
namespace {

struct DocRow {
  std::string name;
  bool reconnect = false;
};

// The rows "| 4002 | `slow_consumer` | yes | ..." of docs/close-codes.md, by code.
std::map<int, DocRow> documented_rows() {
  std::ifstream in(std::string(WSGW_SOURCE_DIR) + "/docs/close-codes.md");
  std::stringstream text;
  text << in.rdbuf();
  std::map<int, DocRow> rows;
  const std::regex row(R"(^\|\s*(\d{4})\s*\|\s*`([a-z_]+)`\s*\|\s*(yes|no)\s*\|)");
  std::string line;
  while (std::getline(text, line)) {
    std::smatch m;
    if (std::regex_search(line, m, row)) rows[std::stoi(m[1])] = {m[2], m[3] == "yes"};
  }
  return rows;
}

TEST(CloseCodes, TheDocumentedTableIsTheCodeTable) {
  const auto rows = documented_rows();
  ASSERT_FALSE(rows.empty()) << "no table rows found in docs/close-codes.md";
  std::set<int> in_code;
  for (const DisconnectInfo& r : kDisconnectTable) {
    const int code = static_cast<int>(r.code);
    in_code.insert(code);
    auto it = rows.find(code);
    ASSERT_NE(it, rows.end()) << code << " " << r.name << " is missing from docs/close-codes.md";
    EXPECT_EQ(it->second.name, r.name) << code;
    EXPECT_EQ(it->second.reconnect, r.reconnect) << code << " " << r.name;
  }
  for (const auto& [code, row] : rows)
    EXPECT_TRUE(in_code.count(code)) << "docs/close-codes.md documents " << code << " " << row.name
                                     << ", which the code does not have";
}

TEST(CloseCodes, NamesAndCodesAreUniqueAndLookupsAgree) {
  std::set<std::string_view> names;
  for (const DisconnectInfo& r : kDisconnectTable) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_EQ(name(r.code), r.name);
  }
  static_assert(name(Disconnect::node_lost) == "node_lost");
}

}  // namespace
}  // namespace wsgw::protocol
