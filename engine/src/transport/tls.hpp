// TLS set-up for one cluster: the verification rules of tls_options.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pollster/config.hpp"

namespace pollster::detail {

/// A client context that trusts per `opts`. Throws std::system_error with
/// error::invalid_config and a message naming the bad file or pin.
boost::asio::ssl::context make_client_context(const tls_options& opts);

/// "AB:cd:..." or "abcd..." -> 32 bytes; empty vector when malformed.
std::vector<std::uint8_t> parse_sha256_hex(std::string_view text);

/// 64 lowercase hex digits.
std::string to_hex(const std::uint8_t* data, std::size_t n);

}  // namespace pollster::detail
