#include "common/kafka/properties.h"

#include <cctype>

namespace wsgw::kafka {

bool parse_properties(const std::vector<std::string>& items, Properties& out, std::string& error) {
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    if (eq == std::string::npos || key.empty()) {
      error = "expected KEY=VALUE (a librdkafka property), got \"" + key + "\"";
      return false;
    }
    for (unsigned char c : key) {
      if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') {
        error = "bad character in librdkafka property name \"" + key + "\"";
        return false;
      }
    }
    out[key] = item.substr(eq + 1);
  }
  return true;
}

}  // namespace wsgw::kafka
