// TLS trust: pinned, CA file, system store, insecure, wrong name, plaintext.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "sim_fixture.hpp"

namespace pollster::test {
namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/pollster-tls-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(name) << text;
  return name;
}

// A self-signed certificate naming only `dns_name`, for the wrong-name case.
std::pair<std::string, std::string> cert_for(const std::string& dns_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, ("DNS:" + dns_name).c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, n);
    BIO_free(bio);
    return s;
  };
  std::string cert = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  std::string pkey = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return {cert, pkey};
}

class tls_test : public sim_test {
 protected:
  outcome wait_one(client& c) {
    return wait_all(c, {sim->create_job("Clone", 20ms, false)}, fast_wait(), 30s)[0];
  }
};

TEST_F(tls_test, PinnedCertificateIsTrusted) {
  start_sim();
  client c(*eng, client_cfg());
  EXPECT_TRUE(wait_one(c).completed());
}

TEST_F(tls_test, WrongPinIsRefusedAtOnceSayingWhy) {
  start_sim();
  auto cfg = client_cfg();
  cfg.tls.pin_sha256 = std::string(64, 'a');
  client c(*eng, cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto o = wait_one(c);
  EXPECT_EQ(o.kind, outcome_kind::failed);
  EXPECT_EQ(o.ec, make_error_code(error::certificate_pin_mismatch));
  EXPECT_NE(o.message().find(sim->certificate_sha256()), std::string::npos) << o.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(o.diagnostics.polls, 1);
}

TEST_F(tls_test, CaFileIsTrusted) {
  start_sim();
  auto cfg = client_cfg();
  cfg.tls.pin_sha256.clear();
  cfg.tls.ca_file = write_temp(sim->certificate_pem());
  client c(*eng, cfg);
  EXPECT_TRUE(wait_one(c).completed());
  std::remove(cfg.tls.ca_file.c_str());
}

TEST_F(tls_test, SystemStoreRejectsSelfSigned) {
  start_sim();
  auto cfg = client_cfg();
  cfg.tls.pin_sha256.clear();
  client c(*eng, cfg);
  auto o = wait_one(c);
  EXPECT_EQ(o.kind, outcome_kind::failed);
  EXPECT_EQ(o.ec, make_error_code(error::certificate_rejected));
  EXPECT_NE(o.message().find("self-signed"), std::string::npos) << o.message();
}

TEST_F(tls_test, WrongNameIsRejected) {
  sim::config cfg;
  std::tie(cfg.cert_pem, cfg.key_pem) = cert_for("only.example.invalid");
  start_sim(cfg);
  auto ccfg = client_cfg();
  ccfg.tls.pin_sha256.clear();
  ccfg.tls.ca_file = write_temp(cfg.cert_pem);
  client c(*eng, ccfg);
  auto o = wait_one(c);
  EXPECT_EQ(o.kind, outcome_kind::failed);
  EXPECT_EQ(o.ec, make_error_code(error::certificate_rejected));
  EXPECT_NE(o.message().find("mismatch"), std::string::npos) << o.message();
  std::remove(ccfg.tls.ca_file.c_str());
}

TEST_F(tls_test, InsecureSkipsVerification) {
  start_sim();
  auto cfg = client_cfg();
  cfg.tls.pin_sha256.clear();
  cfg.tls.insecure_skip_verify = true;
  client c(*eng, cfg);
  EXPECT_TRUE(wait_one(c).completed());
}

TEST_F(tls_test, BadConfigurationIsRefusedWithAReason) {
  auto expect_refused = [&](client_config cfg, error e, std::string_view words) {
    try {
      client c(*eng, std::move(cfg));
      ADD_FAILURE() << "accepted";
    } catch (const std::system_error& ex) {
      EXPECT_EQ(ex.code(), make_error_code(e));
      EXPECT_NE(std::string(ex.what()).find(words), std::string::npos) << ex.what();
    }
  };
  expect_refused({.url = "http://127.0.0.1:1/json-rpc/12.5"}, error::plaintext_refused, "plain http");
  expect_refused({.url = "https://127.0.0.1:1/api"}, error::invalid_endpoint, "/json-rpc/");
  expect_refused({.url = "https://127.0.0.1:1/json-rpc/12.5", .tls = {.pin_sha256 = "xyz"}},
                 error::invalid_config, "64 hex");
  expect_refused({.url = "https://127.0.0.1:1/json-rpc/12.5", .tls = {.ca_file = "/nonexistent.pem"}},
                 error::invalid_config, "/nonexistent.pem");
  expect_refused({.url = "https://127.0.0.1:1/json-rpc/12.5", .pool_size = 0}, error::invalid_config,
                 "pool_size");
}

}  // namespace
}  // namespace pollster::test
