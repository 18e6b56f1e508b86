#pragma once
// The server's OpenSSL context. Connections drive OpenSSL directly on their non-blocking
// socket (no asio::ssl::stream: it keeps two 17 KB buffers per stream, ARCHITECTURE.md) with
// SSL_MODE_RELEASE_BUFFERS so an idle TLS connection holds no record buffers.
#include <memory>
#include <string>

#include <openssl/ssl.h>

namespace wsgw::net {

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// TLS 1.2+, server-side session cache and tickets (resumption), ALPN http/1.1.
// Returns null and sets `error` when the certificate or key cannot be loaded.
SslCtxPtr make_server_tls_context(const std::string& cert_file, const std::string& key_file,
                                  std::string& error);

}  // namespace wsgw::net
