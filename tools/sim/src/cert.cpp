#include "cert.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace pollster::sim::detail {

namespace {

template <class T, void (*F)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;

[[noreturn]] void fail(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error(std::string("certificate: ") + what + (e ? std::string(": ") + buf : ""));
}

bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string bio_string(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void add_ext(X509* x, X509V3_CTX* ctx, int nid, const std::string& value) {
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || !X509_add_ext(x, ext.get(), -1)) fail("adding an extension");
}

}  // namespace

pem_pair make_self_signed(const std::string& listen_host) {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("generating an EC P-256 key");
  x509_ptr x(X509_new());
  if (!x) fail("X509_new");
  X509_set_version(x.get(), 2);
  bn_ptr serial(BN_new());
  if (!serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get())))
    fail("serial number");
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 365L * 24 * 3600);
  if (!X509_set_pubkey(x.get(), key.get())) fail("X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("pollster simulated Element cluster"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pollster-sim"), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);

  std::vector<std::string> sans{"IP:127.0.0.1", "IP:::1", "DNS:localhost"};
  auto add_san = [&](const std::string& s) {
    for (const auto& e : sans)
      if (e == s) return;
    sans.push_back(s);
  };
  if (!listen_host.empty()) {
    std::string h = listen_host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    if (h.find_first_of(",\n") == std::string::npos) add_san((is_ip(h) ? "IP:" : "DNS:") + h);
  }
  char hostname[256] = "";
  if (gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0] &&
      std::string(hostname).find_first_of(", ") == std::string::npos)
    add_san(std::string("DNS:") + hostname);
  std::string san;
  for (const auto& s : sans) san += (san.empty() ? "" : ",") + s;

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(x.get(), &ctx, NID_ext_key_usage, "serverAuth");
  add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(x.get(), &ctx, NID_subject_alt_name, san);
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) fail("signing");

  pem_pair out;
  bio_ptr cb(BIO_new(BIO_s_mem()));
  if (!cb || !PEM_write_bio_X509(cb.get(), x.get())) fail("writing the certificate");
  out.cert_pem = bio_string(cb.get());
  bio_ptr kb(BIO_new(BIO_s_mem()));
  if (!kb || !PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    fail("writing the key");
  out.key_pem = bio_string(kb.get());
  return out;
}

std::string certificate_sha256(const std::string& cert_pem) {
  bio_ptr b(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (!b) fail("BIO_new_mem_buf");
  x509_ptr x(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!x) fail("reading the certificate PEM");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(x.get(), EVP_sha256(), md, &n)) fail("X509_digest");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

}  // namespace pollster::sim::detail
