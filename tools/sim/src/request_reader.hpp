// The HTTP side of one request, read without allocating: the target and the
// credentials are checked as the header goes by, the body is appended to a
// reused buffer. Included by server.cpp only (the one TU that compiles Asio
// and Beast code for the simulator).
#pragma once

#include "rpc.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace pollster::sim::detail {

namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;

inline std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// Reads one request without allocating: checks the target and the
/// credentials as the header goes by, appends the body to a reused buffer.
class request_reader final : public http::basic_parser<true> {
 public:
  enum class target_kind : std::uint8_t { ok, not_found, unknown_version };

  request_reader(std::string& body, std::string& query, std::string_view auth_token,
                 std::string_view current_version, const std::vector<std::string>& versions)
      : body_(body), query_(query), token_(auth_token), current_(current_version), versions_(versions) {}

  bool auth_ok = false;
  bool is_post = false;
  bool is_get = false;
  bool expect_continue = false;
  bool http10 = false;
  target_kind target = target_kind::not_found;

  std::string_view api_version() const { return {version_, version_len_}; }

 private:
  void on_request_impl(http::verb m, beast::string_view, beast::string_view tgt, int http_version, error_code&) override {
    http10 = http_version == 10;
    is_post = m == http::verb::post;
    is_get = m == http::verb::get;
    std::string_view t = sv(tgt);
    query_.clear();
    if (auto q = t.find('?'); q != std::string_view::npos) {
      if (is_get) query_.assign(t.substr(q + 1));  // the documented GET form (rare: may allocate)
      t = t.substr(0, q);
    }
    constexpr std::string_view prefix = "/json-rpc/";
    if (t.substr(0, prefix.size()) != prefix) {
      target = target_kind::not_found;
      return;
    }
    std::string_view v = t.substr(prefix.size());
    if (!v.empty() && v.back() == '/') v.remove_suffix(1);  // Cinder posts to /json-rpc/<version>/
    if (v.empty() || v.find('/') != std::string_view::npos) {
      target = target_kind::not_found;
      return;
    }
    version_len_ = static_cast<std::uint8_t>(std::min(v.size(), sizeof version_));
    std::copy_n(v.data(), version_len_, version_);
    if (v == current_) {
      target = target_kind::ok;
      return;
    }
    for (const auto& s : versions_)
      if (v == s) {
        target = target_kind::ok;
        return;
      }
    target = target_kind::unknown_version;
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(http::field name, beast::string_view, beast::string_view value, error_code&) override {
    if (name == http::field::authorization) {
      std::string_view v = sv(value);
      auto sp = v.find(' ');
      if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "basic")) return;
      v.remove_prefix(sp);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      auth_ok = v == token_;
    } else if (name == http::field::expect) {
      expect_continue = iequals(sv(value), "100-continue");
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    body_.clear();
    if (length && *length < (std::uint64_t{1} << 32)) body_.reserve(static_cast<std::size_t>(*length) + detail::json_padding);
  }
  std::size_t on_body_impl(beast::string_view s, error_code&) override {
    body_.append(s.data(), s.size());
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s, error_code&) override {
    body_.append(s.data(), s.size());
    return s.size();
  }
  void on_finish_impl(error_code&) override {}

  std::string& body_;
  std::string& query_;
  std::string_view token_;
  std::string_view current_;
  const std::vector<std::string>& versions_;
  char version_[32];
  std::uint8_t version_len_ = 0;
};



}  // namespace pollster::sim::detail
