#include "pollster/endpoint.hpp"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>

#include "pollster/error.hpp"

namespace pollster {

std::string endpoint::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

bool endpoint::host_is_ip() const {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

namespace {
bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}
bool valid_version(std::string_view v) {
  // 12.5, 11.0, 9: digits separated by single dots.
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  bool prev_dot = false;
  for (char c : v) {
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      prev_dot = false;
    } else {
      return false;
    }
  }
  return true;
}
bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
      return false;
  return true;
}
}  // namespace

endpoint parse_endpoint(std::string_view url, std::error_code& ec, std::string& why) {
  auto fail = [&](std::string reason) {
    ec = make_error_code(error::invalid_endpoint);
    why = "invalid endpoint '" + std::string(url) + "': " + std::move(reason);
    return endpoint{};
  };
  ec.clear();
  why.clear();
  endpoint ep;
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    ep.tls = true;
    ep.port = 443;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "http://")) {
    ep.tls = false;
    ep.port = 80;
    rest = url.substr(7);
  } else {
    return fail("must start with https://");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return fail("credentials do not belong in the URL (use the user and password settings)");
  if (authority.empty()) return fail("no host");
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return fail("empty port");
    }
    boost::system::error_code aec;
    boost::asio::ip::make_address_v6(std::string(host), aec);
    if (aec)
      return fail("'" + std::string(host) + "' is not an IPv6 address");
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!valid_hostname(host)) return fail("'" + std::string(host) + "' is not a valid host");
  }
  if (authority.front() != '[' && port.data() && port.empty()) return fail("empty port");
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, perr] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (perr != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return fail("port '" + std::string(port) + "' is not a number from 1 to 65535");
    ep.port = static_cast<std::uint16_t>(value);
  }
  if (path.find_first_of("?#") != std::string_view::npos)
    return fail("no query or fragment expected");
  constexpr std::string_view prefix = "/json-rpc/";
  if (path.substr(0, prefix.size()) != prefix)
    return fail("path must be /json-rpc/<api-version>, e.g. /json-rpc/12.5");
  const auto version = path.substr(prefix.size());
  if (!valid_version(version))
    return fail("API version '" + std::string(version) + "' is not like 12.5");
  ep.host = std::string(host);
  ep.target = std::string(path);
  ep.api_version = std::string(version);
  return ep;
}

}  // namespace pollster
