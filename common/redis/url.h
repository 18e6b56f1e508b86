#pragma once
// Redis URLs as both daemons take them (--redis): redis://[user:password@]host[:port][/0].
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::redis {

struct Url {
  std::string host;
  uint16_t port = 6379;
  std::string username;  // empty: AUTH <password> alone
  std::string password;  // empty: no AUTH
};

// Splits a URL into `out`. The "redis://" scheme may be left out; any other scheme (rediss://
// included: no TLS to Redis) is refused, and so is a database other than 0 (the registry
// scripts use db 0). False with `error` set on anything malformed.
bool parse_url(std::string_view url, Url& out, std::string& error);

}  // namespace wsgw::redis
