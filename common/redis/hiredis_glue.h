#pragma once
// Internal: the few places that touch hiredis types, shared by Client and Subscriber.
#include <chrono>
#include <string>
#include <vector>

#include "common/redis/command.h"
#include "common/redis/reply.h"

struct redisContext;
struct redisReply;
struct timeval;

namespace wsgw::redis::detail {

// Deep copy of a hiredis reply (null becomes an error reply: hiredis gives none only on
// connection errors, which the caller reports itself).
Reply convert_reply(const redisReply* reply);

timeval to_timeval(std::chrono::milliseconds d);

// Connects with a timeout, sets the socket read/write timeout and TCP keep-alive, then runs
// AUTH / SELECT / CLIENT SETNAME as configured and a PING. Returns null and sets `error` on
// failure.
struct ConnectSettings {
  std::string host;
  int port = 0;
  std::string username;
  std::string password;
  int database = 0;
  std::string client_name;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{3000};
};
redisContext* connect(const ConnectSettings& settings, std::string& error);

// Appends one command to the context's output buffer (no I/O). False only when out of memory.
bool append_command(redisContext* context, const Command& command);
// One blocking round trip; a null reply (connection error) becomes a WSGW_DISCONNECTED error.
Reply run_command(redisContext* context, const Command& command);

// "WSGW_DISCONNECTED: <hiredis error text>".
std::string connection_error_text(const redisContext* context);

}  // namespace wsgw::redis::detail
