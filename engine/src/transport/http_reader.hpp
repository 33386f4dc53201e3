// Beast's HTTP/1.1 response parser, fed straight into a reused padded buffer:
// basic_parser does the parsing (status line, fields, chunking, limits) and
// we keep only what polling needs. Unlike http::response_parser<string_body>,
// it allocates no header fields and no body string per answer.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <charconv>
#include <chrono>

#include "protocol/padded_buffer.hpp"

namespace pollster::detail {

class http_reader : public boost::beast::http::basic_parser<false> {
 public:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  http_reader(padded_buffer& body, std::size_t body_limit) : body_(body) {
    body_.clear_and_trim(padded_buffer::kept_capacity);
    this->body_limit(body_limit);
    this->header_limit(16 * 1024);
  }

  int status() const noexcept { return status_; }
  /// True once a status line has been parsed.
  bool got_some() const noexcept { return status_ != 0; }
  /// Retry-After in seconds (delta form only; an HTTP-date is ignored).
  std::chrono::seconds retry_after() const noexcept { return retry_after_; }

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(boost::beast::http::field name, string_view, string_view value,
                     error_code&) override {
    if (name == boost::beast::http::field::retry_after) {
      unsigned long s = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
      if (ec == std::errc() && p == value.data() + value.size())
        retry_after_ = std::chrono::seconds(std::min<unsigned long>(s, 3600));
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& length, error_code&) override {
    // Small answers grow the buffer by doubling (a poll's answer a byte longer
    // than the last must not allocate); a big one gets its exact size.
    if (length && *length > padded_buffer::kept_capacity) body_.reserve_exact(static_cast<std::size_t>(*length));
    else if (length) body_.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(string_view s, error_code&) override {
    body_.append(s.data(), s.size());
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view s, error_code&) override {
    body_.append(s.data(), s.size());
    return s.size();
  }
  void on_finish_impl(error_code&) override {}

  padded_buffer& body_;
  int status_ = 0;
  std::chrono::seconds retry_after_{0};
};

}  // namespace pollster::detail
