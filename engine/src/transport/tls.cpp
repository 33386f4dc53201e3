#include "transport/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <system_error>

#include "pollster/error.hpp"

namespace pollster::detail {

namespace ssl = boost::asio::ssl;

std::vector<std::uint8_t> parse_sha256_hex(std::string_view text) {
  std::vector<std::uint8_t> out;
  int nibble = -1;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return {};
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  if (nibble >= 0 || out.size() != 32) return {};
  return out;
}

std::string to_hex(const std::uint8_t* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[data[i] >> 4];
    s += digits[data[i] & 15];
  }
  return s;
}

ssl::context make_client_context(const tls_options& opts) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (opts.insecure_skip_verify || !opts.pin_sha256.empty()) {
    // Pinning replaces the CA and name checks (connection.cpp checks the pin).
    ctx.set_verify_mode(ssl::verify_none);
    if (!opts.pin_sha256.empty() && parse_sha256_hex(opts.pin_sha256).empty())
      throw std::system_error(make_error_code(error::invalid_config),
                              "pin_sha256 must be 64 hex digits (SHA-256 of the certificate)");
    return ctx;
  }
  ctx.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (!opts.ca_file.empty()) {
    ctx.load_verify_file(opts.ca_file, ec);
    if (ec)
      throw std::system_error(make_error_code(error::invalid_config),
                              "cannot load CA file '" + opts.ca_file + "': " + ec.message());
  } else {
    ctx.set_default_verify_paths(ec);
    if (ec)
      throw std::system_error(make_error_code(error::invalid_config),
                              "cannot load the system CA store: " + ec.message());
  }
  return ctx;
}

}  // namespace pollster::detail
