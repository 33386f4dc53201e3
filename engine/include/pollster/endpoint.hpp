// A cluster endpoint: https://host[:port]/json-rpc/<version>.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace pollster {

/// A parsed cluster URL: where to connect and what to ask for.
struct endpoint {
  bool tls = true;          ///< https (true) or http (only with allow_plaintext)
  std::string host;         ///< DNS name or IP literal, without IPv6 brackets
  std::uint16_t port = 443; ///< TCP port (443 or 80 unless the URL names one)
  std::string target;       ///< the request path, e.g. "/json-rpc/12.5"
  std::string api_version;  ///< e.g. "12.5"

  /// "host" or "[v6]" plus ":port" when not the scheme's default: the Host header.
  std::string host_header() const;
  /// The host is an IP literal: no SNI is sent, and the certificate is
  /// checked against the address.
  bool host_is_ip() const;
};

/// Parses "https://host[:port]/json-rpc/<version>". On failure returns an
/// empty endpoint, sets `ec` to error::invalid_endpoint and `why` to a
/// one-line reason naming what was wrong.
endpoint parse_endpoint(std::string_view url, std::error_code& ec, std::string& why);

}  // namespace pollster
