#include "common/redis/script.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace wsgw::redis {

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(source_.data(), source_.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    // Only possible when OpenSSL itself is broken; scripts are built at start-up.
    throw std::runtime_error("SHA1 unavailable for a Redis script");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    sha1_.push_back(kHex[digest[i] >> 4]);
    sha1_.push_back(kHex[digest[i] & 0xf]);
  }
}

}  // namespace wsgw::redis
