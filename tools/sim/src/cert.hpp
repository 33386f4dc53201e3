// A self-signed certificate for the simulator (OpenSSL 3), and fingerprints.
#pragma once

#include <string>

namespace pollster::sim::detail {

struct pem_pair {
  std::string cert_pem;
  std::string key_pem;
};

/// EC P-256 key and a self-signed certificate valid for a year, whose
/// subjectAltName names `listen_host` (IP or DNS), 127.0.0.1, ::1, localhost
/// and this machine's host name. Throws std::runtime_error.
pem_pair make_self_signed(const std::string& listen_host);

/// SHA-256 of the first certificate's DER in `cert_pem`: 64 lowercase hex
/// digits. Throws std::runtime_error when it is not a PEM certificate.
std::string certificate_sha256(const std::string& cert_pem);

}  // namespace pollster::sim::detail
