// TLS for the stream listeners (RFC 5425 syslog over TLS, updated by RFC 9662).
//
// make_server_context() builds an Asio ssl::context with the Mozilla "intermediate" profile:
// TLS 1.2 and 1.3 only, ECDHE key exchange with AEAD ciphers, no compression, no
// renegotiation, no 0-RTT. Client certificates are optional or required; a client is let in
// when its chain verifies against ca_file and its name (SAN dNSName/IP, else CN; wildcard
// only as the left-most label) is on the allow-list, or when its certificate's SHA-256
// fingerprint is on the allow-list (RFC 5425 §4.2.1 fingerprint matching, self-signed
// senders included). A policy failure aborts the handshake with an alert.
//
// Certificate helpers make keys and X.509 certificates (the embedded default's self-signed
// certificate; the tests' CA, client and expired certificates). Contexts are immutable once
// built; a reload builds a new one. Any thread.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio/ssl.hpp>
// clang-format on

#include "pipeline/core/result.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

typedef struct x509_st X509;

namespace klaxon {

enum class ClientAuth { kNone, kOptional, kRequired };

struct TlsOptions {
  std::string cert_file;  // PEM, leaf first; empty: a self-signed one in self_signed_dir
  std::string key_file;
  std::string ca_file;  // trust anchors for client certificates
  ClientAuth client_auth = ClientAuth::kNone;
  // Client names (exact or "*.example.org") and fingerprints ("sha256:AB:CD:..." or
  // "sha1:..."); empty: any client with a valid chain.
  std::vector<std::string> allow;
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::string self_signed_dir;  // where the generated certificate lives (data_dir/tls)
};

using SslContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// Builds the server context; generates the self-signed certificate first when no cert_file
// is configured and none was generated before. Errors name the file and what failed.
Result<SslContextPtr> make_server_context(const TlsOptions& options);

// "sha256:AB:CD:..." of the DER encoding (RFC 5425 §4.2.2 style, upper-case hex).
std::string certificate_fingerprint(X509* cert, const char* algorithm = "sha256");
// "CN=sender01.example.org,O=Example" (RFC 2253 style).
std::string certificate_subject(X509* cert);
// RFC 5425 §5.2 name matching: exact (case-insensitive) or a left-most "*." wildcard.
bool name_matches(const std::string& pattern, const std::string& name);

// A key and certificate, PEM files, for the daemon's self-signed default and for tests.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool is_ca = false;
  std::chrono::seconds not_before{-60};  // relative to now
  std::chrono::seconds not_after{std::chrono::hours(24 * 825)};
  std::string issuer_cert_file;  // empty: self-signed
  std::string issuer_key_file;
};
Status write_certificate(const CertificateSpec& spec, const std::string& cert_file,
                         const std::string& key_file);
// The SHA-256 fingerprint of the first certificate in a PEM file.
Result<std::string> file_fingerprint(const std::string& cert_file);

}  // namespace klaxon
