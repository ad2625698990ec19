// A blocking TLS client for tests (OpenSSL directly), so a test can hold a connection open
// across a reload, choose protocol versions and ciphers, and read the server's certificate.
#pragma once

#include <cstdint>
#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace klaxon::test {

struct TlsClientOptions {
  std::string ca_file;    // verify the server against this CA; empty: do not verify
  std::string cert_file;  // client certificate, if any
  std::string key_file;
  int min_version = 0;  // TLS1_2_VERSION etc.; 0: library default
  int max_version = 0;
  std::string ciphers;  // TLS 1.2 cipher list; empty: default
};

class TlsClient {
 public:
  TlsClient() = default;
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Connects to 127.0.0.1:port and completes the handshake. False with error() on failure.
  bool connect(uint16_t port, const TlsClientOptions& options);
  bool send(const std::string& data);
  // Waits up to timeout_ms for the server to close or alert; true when the connection ended
  // (TLS 1.3 servers refuse a client certificate after the client's handshake completed).
  bool closed_by_peer(int timeout_ms);
  const std::string& error() const { return error_; }
  const std::string& server_fingerprint() const { return server_fingerprint_; }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
  std::string server_fingerprint_;
};

}  // namespace klaxon::test
