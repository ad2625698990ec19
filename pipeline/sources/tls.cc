#include "pipeline/sources/tls.h"

#include "pipeline/core/log.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace klaxon {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla "intermediate" TLS 1.2 suites, ECDHE and AEAD only (no DHE, no CBC).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Names a client certificate answers to: SAN dNSName and iPAddress; the CN when there is no
// dNSName (RFC 5425 §5.2: SHOULD check CN).
std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> names;
  bool had_dns = false;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const auto* s = gn->d.dNSName;
        names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<size_t>(ASN1_STRING_length(s)));
        had_dns = true;
      } else if (gn->type == GEN_IPADD) {
        const auto* s = gn->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {};
        const int len = ASN1_STRING_length(s);
        if (len == 4) inet_ntop(AF_INET, ASN1_STRING_get0_data(s), text, sizeof text);
        if (len == 16) inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), text, sizeof text);
        if (text[0]) names.emplace_back(text);
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (!had_dns) {
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      names.emplace_back(cn);
    }
  }
  return names;
}

bool is_fingerprint(const std::string& s) {
  return s.rfind("sha256:", 0) == 0 || s.rfind("sha1:", 0) == 0 || s.rfind("SHA256:", 0) == 0 ||
         s.rfind("SHA1:", 0) == 0;
}

Result<PkeyPtr> read_key(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return make_error(ErrorCode::kIo, file + ": cannot read the key");
  PkeyPtr k(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!k)
    return make_error(ErrorCode::kInvalidArgument,
                      file + ": not a PEM private key: " + openssl_errors());
  return k;
}

Result<X509Ptr> read_cert(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return make_error(ErrorCode::kIo, file + ": cannot read the certificate");
  X509Ptr c(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!c)
    return make_error(ErrorCode::kInvalidArgument,
                      file + ": not a PEM certificate: " + openssl_errors());
  return c;
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

std::string certificate_fingerprint(X509* cert, const char* algorithm) {
  const EVP_MD* md = std::string_view(algorithm) == "sha1" ? EVP_sha1() : EVP_sha256();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, digest, &len) != 1) return "";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = algorithm;
  out += ':';
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string certificate_subject(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<size_t>(n));
  BIO_free(bio);
  return s;
}

bool name_matches(const std::string& pattern_in, const std::string& name_in) {
  const std::string pattern = lower(pattern_in), name = lower(name_in);
  if (pattern.rfind("*.", 0) == 0) {
    const size_t dot = name.find('.');
    // "*.example.com" matches "a.example.com", not "a.b.example.com" or "example.com".
    return dot != std::string::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
  }
  return pattern == name;
}

Status write_certificate(const CertificateSpec& spec, const std::string& cert_file,
                         const std::string& key_file) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return make_error(ErrorCode::kInternal, "cannot generate a key: " + openssl_errors());
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(spec.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.not_after.count()));
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509Ptr issuer_cert;
  PkeyPtr issuer_key;
  if (!spec.issuer_cert_file.empty()) {
    auto ic = read_cert(spec.issuer_cert_file);
    if (!ic) return ic.error();
    auto ik = read_key(spec.issuer_key_file);
    if (!ik) return ik.error();
    issuer_cert = std::move(*ic);
    issuer_key = std::move(*ik);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* issuer = issuer_cert ? issuer_cert.get() : cert.get();
  std::string san;
  auto add_san = [&san](const char* kind, const std::string& value) {
    if (!san.empty()) san.push_back(',');
    san.append(kind).append(value);
  };
  for (const auto& d : spec.dns_names) add_san("DNS:", d);
  for (const auto& ip : spec.ip_addresses) add_san("IP:", ip);
  bool ok = true;
  if (spec.is_ca) {
    ok &= add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    ok &= add_ext(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok &= add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    ok &= add_ext(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
    ok &= add_ext(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  ok &= add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (issuer_cert) ok &= add_ext(cert.get(), issuer, NID_authority_key_identifier, "keyid");
  if (!san.empty()) ok &= add_ext(cert.get(), issuer, NID_subject_alt_name, san);
  if (!ok)
    return make_error(ErrorCode::kInternal,
                      "cannot build certificate extensions: " + openssl_errors());
  if (X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) == 0) {
    return make_error(ErrorCode::kInternal, "cannot sign the certificate: " + openssl_errors());
  }
  // The key is written first, readable by its owner only.
  {
    const mode_t old = umask(077);
    FILE* kf = std::fopen(key_file.c_str(), "w");
    umask(old);
    if (!kf) return make_error(ErrorCode::kIo, key_file + ": cannot write the key");
    const bool wrote =
        PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(kf);
    if (!wrote) return make_error(ErrorCode::kIo, key_file + ": cannot write the key");
  }
  FILE* cf = std::fopen(cert_file.c_str(), "w");
  if (!cf) return make_error(ErrorCode::kIo, cert_file + ": cannot write the certificate");
  const bool wrote = PEM_write_X509(cf, cert.get()) == 1;
  std::fclose(cf);
  if (!wrote) return make_error(ErrorCode::kIo, cert_file + ": cannot write the certificate");
  return ok_status();
}

Result<std::string> file_fingerprint(const std::string& cert_file) {
  auto c = read_cert(cert_file);
  if (!c) return c.error();
  return certificate_fingerprint(c->get());
}

Result<SslContextPtr> make_server_context(const TlsOptions& o) {
  TlsOptions opts = o;
  if (opts.cert_file.empty()) {
    // The embedded default: a self-signed certificate generated once into the data
    // directory, with the names senders put in their configs (syslog-ng checks the address
    // it connects to against the SAN).
    std::error_code ec;
    std::filesystem::create_directories(opts.self_signed_dir, ec);
    opts.cert_file = opts.self_signed_dir + "/klaxond.crt";
    opts.key_file = opts.self_signed_dir + "/klaxond.key";
    if (!std::filesystem::exists(opts.cert_file) || !std::filesystem::exists(opts.key_file)) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      CertificateSpec spec;
      spec.common_name = host[0] ? host : "klaxond";
      spec.dns_names = {spec.common_name, "localhost"};
      spec.ip_addresses = {"127.0.0.1", "::1"};
      KLAXON_TRY(write_certificate(spec, opts.cert_file, opts.key_file));
      auto fp = file_fingerprint(opts.cert_file);
      log_event(LogLevel::kWarn, "tls",
                "generated a self-signed certificate (configure cert_file for production)",
                {{"cert", opts.cert_file}, {"fingerprint", fp ? *fp : std::string("?")}});
    }
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_max_early_data(c, 0);  // no 0-RTT (RFC 9662)
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) {
    return make_error(ErrorCode::kInternal, "TLS cipher setup: " + openssl_errors());
  }
  if (SSL_CTX_use_certificate_chain_file(c, opts.cert_file.c_str()) != 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      opts.cert_file + ": cannot use the certificate: " + openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(c, opts.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      opts.key_file + ": cannot use the key: " + openssl_errors());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return make_error(ErrorCode::kInvalidArgument, opts.key_file + ": the key does not match " +
                                                       opts.cert_file + ": " + openssl_errors());
  }
  if (opts.client_auth != ClientAuth::kNone) {
    if (!opts.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(c, opts.ca_file.c_str(), nullptr) != 1) {
        return make_error(ErrorCode::kInvalidArgument,
                          opts.ca_file + ": cannot load the CA bundle: " + openssl_errors());
      }
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(opts.ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(c, names);  // tells clients which certificate to send
      }
    }
    static const unsigned char kSessionContext[] = "klaxond";
    SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
    int mode = SSL_VERIFY_PEER;
    if (opts.client_auth == ClientAuth::kRequired) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    ctx->set_verify_mode(mode);
    std::vector<std::string> names, fingerprints;
    for (const auto& a : opts.allow) (is_fingerprint(a) ? fingerprints : names).push_back(a);
    for (auto& f : fingerprints) {
      for (auto& ch : f) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    ctx->set_verify_callback([names, fingerprints](bool preverified, ssl::verify_context& vc) {
      X509_STORE_CTX* sc = vc.native_handle();
      if (X509_STORE_CTX_get_error_depth(sc) > 0) return preverified;
      X509* cert = X509_STORE_CTX_get_current_cert(sc);
      const int err = X509_STORE_CTX_get_error(sc);
      // A pinned fingerprint stands in for path validation (self-signed or unknown issuer),
      // never for an expired or not-yet-valid certificate.
      const bool date_error =
          err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID;
      if (!fingerprints.empty() && !date_error) {
        std::string fp256 = certificate_fingerprint(cert, "sha256"),
                    fp1 = certificate_fingerprint(cert, "sha1");
        for (auto* fp : {&fp256, &fp1}) {
          for (auto& ch : *fp) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        }
        for (const auto& f : fingerprints) {
          if (f == fp256 || f == fp1) {
            X509_STORE_CTX_set_error(sc, X509_V_OK);
            return true;
          }
        }
      }
      if (!preverified) return false;
      if (names.empty()) return fingerprints.empty();  // only pinned fingerprints allowed
      for (const auto& n : certificate_names(cert)) {
        for (const auto& p : names) {
          if (name_matches(p, n)) return true;
        }
      }
      X509_STORE_CTX_set_error(sc, X509_V_ERR_APPLICATION_VERIFICATION);
      return false;
    });
  }
  return ctx;
}

}  // namespace klaxon
