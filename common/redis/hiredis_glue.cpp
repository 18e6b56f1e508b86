#include "common/redis/hiredis_glue.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace wsgw::redis::detail {

Reply convert_reply(const redisReply* reply) {
  if (reply == nullptr) return Reply::make_error(std::string(kErrorDisconnected));
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      return Reply::make_string(std::string(reply->str, reply->len));
    case REDIS_REPLY_STATUS:
      return Reply::make_status(std::string(reply->str, reply->len));
    case REDIS_REPLY_ERROR:
      return Reply::make_error(std::string(reply->str, reply->len));
    case REDIS_REPLY_INTEGER:
      return Reply::make_integer(reply->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) elements.push_back(convert_reply(reply->element[i]));
      return Reply::make_array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      return Reply::make_nil();
  }
}

timeval to_timeval(std::chrono::milliseconds d) {
  if (d.count() < 1) d = std::chrono::milliseconds(1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string connection_error_text(const redisContext* context) {
  std::string text(kErrorDisconnected);
  if (context != nullptr && context->err != 0) {
    text += ": ";
    text += context->errstr;
  }
  return text;
}

bool append_command(redisContext* context, const Command& command) {
  const auto& args = command.args();
  // Small commands use the stack; a 20,000-argument ZADD gets a heap array once.
  constexpr size_t kInline = 16;
  const char* argv_inline[kInline];
  size_t lens_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<size_t> lens_heap;
  const char** argv = argv_inline;
  size_t* lens = lens_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    lens_heap.resize(args.size());
    argv = argv_heap.data();
    lens = lens_heap.data();
  }
  for (size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  return redisAppendCommandArgv(context, static_cast<int>(args.size()), argv, lens) == REDIS_OK;
}

Reply run_command(redisContext* context, const Command& command) {
  if (!append_command(context, command)) return Reply::make_error(connection_error_text(context));
  void* raw = nullptr;
  if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
    return Reply::make_error(connection_error_text(context));
  }
  Reply reply = convert_reply(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

redisContext* connect(const ConnectSettings& s, std::string& error) {
  redisContext* c = redisConnectWithTimeout(s.host.c_str(), s.port, to_timeval(s.connect_timeout));
  if (c == nullptr) {
    error = "cannot allocate a hiredis context";
    return nullptr;
  }
  if (c->err != 0) {
    error = c->errstr;
    redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, to_timeval(s.io_timeout));
  redisEnableKeepAlive(c);

  auto step = [&](const Command& cmd, bool want_ok) {
    Reply r = run_command(c, cmd);
    if (r.is_error() || (want_ok && !r.is_ok())) {
      error = cmd.args().front() + " failed: " + (r.is_error() ? r.str() : r.debug_string());
      return false;
    }
    return true;
  };
  bool ok = true;
  if (!s.password.empty()) {
    Command auth{"AUTH"};
    if (!s.username.empty()) auth.arg(s.username);
    auth.arg(s.password);
    ok = step(auth, true);
  }
  if (ok && s.database != 0) ok = step(Command{"SELECT"}.arg(s.database), true);
  if (ok && !s.client_name.empty()) ok = step(Command{"CLIENT", "SETNAME"}.arg(s.client_name), true);
  // Also catches a server that accepts and then refuses us (max clients, loading data).
  if (ok) ok = step(Command{"PING"}, false);
  if (!ok) {
    redisFree(c);
    return nullptr;
  }
  return c;
}

}  // namespace wsgw::redis::detail
