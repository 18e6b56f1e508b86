#pragma once
// OpenSSL reports errors on a per-thread queue; both daemons turn it into one line of text.
#include <string>

namespace wsgw::util {

// Every queued OpenSSL error as text, "; "-separated (the queue is emptied);
// "unknown OpenSSL error" when the queue was empty.
std::string openssl_error_text();

}  // namespace wsgw::util
