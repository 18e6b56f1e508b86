#pragma once
// One Redis command as its argument list (binary-safe), built on the caller's thread and
// serialised on the client thread, so the I/O threads never format RESP.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::redis {

class Command {
 public:
  Command() = default;
  Command(std::initializer_list<std::string_view> args) {
    args_.reserve(args.size());
    for (std::string_view a : args) args_.emplace_back(a);
  }

  Command& arg(std::string_view a) {
    args_.emplace_back(a);
    return *this;
  }
  Command& arg(std::string&& a) {
    args_.push_back(std::move(a));
    return *this;
  }
  Command& arg(const char* a) { return arg(std::string_view(a)); }
  Command& arg(int64_t n) {
    args_.push_back(std::to_string(n));
    return *this;
  }
  Command& arg(int n) { return arg(static_cast<int64_t>(n)); }
  Command& arg(uint64_t n) {
    args_.push_back(std::to_string(n));
    return *this;
  }
  Command& arg(uint32_t n) { return arg(static_cast<uint64_t>(n)); }
  void reserve(size_t n) { args_.reserve(n); }

  size_t size() const { return args_.size(); }
  bool empty() const { return args_.empty(); }
  const std::vector<std::string>& args() const { return args_; }
  std::vector<std::string>& args() { return args_; }

 private:
  std::vector<std::string> args_;
};

}  // namespace wsgw::redis
