#include "common/redis/url.h"

#include "common/config/value_parsers.h"

namespace wsgw::redis {

bool parse_url(std::string_view url, Url& out, std::string& error) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) == scheme) {
    url.remove_prefix(scheme.size());
  } else if (url.find("://") != std::string_view::npos) {
    error = "must be a redis:// URL (TLS to Redis, rediss://, is not supported)";
    return false;
  }
  out = Url{};
  if (const size_t at = url.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = url.substr(0, at);
    url.remove_prefix(at + 1);
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      out.password = std::string(credentials);  // redis://password@host
    } else {
      out.username = std::string(credentials.substr(0, colon));
      out.password = std::string(credentials.substr(colon + 1));
    }
  }
  if (const size_t slash = url.find('/'); slash != std::string_view::npos) {
    const std::string_view db = url.substr(slash + 1);
    if (!db.empty() && db != "0") {
      error = "only database 0 is supported";
      return false;
    }
    url = url.substr(0, slash);
  }
  config::HostPort hp;
  if (!config::parse_host_port(url, hp, error)) {
    // A host without a port takes Redis's default.
    std::string with_port(url);
    with_port += ":6379";
    if (!config::parse_host_port(with_port, hp, error)) return false;
  }
  if (hp.host.empty()) {
    error = "needs a host";
    return false;
  }
  out.host = hp.host;
  out.port = hp.port;
  return true;
}

}  // namespace wsgw::redis
