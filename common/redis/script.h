#pragma once
// A Lua script run with EVALSHA. Its SHA1 is computed locally, so a call never needs a prior
// SCRIPT LOAD round trip; the client loads every script it has seen on each (re)connection,
// before running queued commands, so a restarted Redis does not answer NOSCRIPT to a pipeline
// (which would break ordering). A NOSCRIPT that still happens (someone ran SCRIPT FLUSH) is
// answered by re-sending the call as EVAL with the source.
#include <memory>
#include <string>

namespace wsgw::redis {

class Script {
 public:
  explicit Script(std::string source);

  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }  // 40 lowercase hex digits

 private:
  std::string source_;
  std::string sha1_;
};

using ScriptPtr = std::shared_ptr<const Script>;

inline ScriptPtr make_script(std::string source) {
  return std::make_shared<const Script>(std::move(source));
}

}  // namespace wsgw::redis
