// Fuzzes what wsgw_redis does with bytes from the wire: hiredis's RESP reader feeds
// convert_reply, then every decoder the registries apply to replies (records, lists,
// integers). None may crash, hang or allocate without bound on hostile input.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/redis/hiredis_glue.h"
#include "common/redis/reply.h"
#include "common/redis/session_registry.h"

using namespace wsgw::redis;

namespace {
// hiredis 0.14's reader allocates an array header's element pointers up front ("*400000001"
// asks for 3.2 GB); 1.0 added a limit. The peer is our own Redis, so the harness skips such
// headers instead of reporting hiredis's known behaviour as our bug.
bool declares_huge_array(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '*') continue;
    uint64_t count = 0;
    for (size_t j = i + 1; j < text.size() && text[j] >= '0' && text[j] <= '9'; ++j) {
      count = count * 10 + static_cast<uint64_t>(text[j] - '0');
      if (count > 100000) return true;
    }
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (declares_huge_array(text)) return 0;
  int64_t n = 0;
  parse_integer(text, n);

  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) return 0;
  if (redisReaderFeed(reader, text.data(), text.size()) == REDIS_OK) {
    for (int i = 0; i < 64; ++i) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK || raw == nullptr) break;
      Reply reply = detail::convert_reply(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      SessionRecord record;
      decode_session_record(reply, record);
      std::vector<SessionRecord> records;
      detail::decode_record_list(reply, records);
      std::vector<std::string> strings;
      detail::decode_string_list(reply, strings);
      (void)reply.to_integer();
      (void)reply.debug_string();
      (void)detail::reply_error(reply);
    }
  }
  redisReaderFree(reader);
  return 0;
}
