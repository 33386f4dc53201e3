#include "protocol/request_encoder.hpp"

#include <array>
#include <charconv>

#include "pollster/endpoint.hpp"

namespace pollster::detail {

std::string base64_encode(std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 |
                       (unsigned char)in[i + 2];
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += table[v >> 6 & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += table[v >> 6 & 63];
    out += '=';
  }
  return out;
}

request_encoder::request_encoder(const endpoint& ep, std::string_view user,
                                 std::string_view password) {
  std::string credentials;
  credentials.append(user).append(":").append(password);
  head_ = "POST " + ep.target + " HTTP/1.1\r\nHost: " + ep.host_header() +
          "\r\nAuthorization: Basic " + base64_encode(credentials) +
          "\r\nContent-Type: application/json-rpc\r\nAccept: application/json"
          "\r\nContent-Length: ";
}

namespace {
void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> digits;
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), v);
  out.append(digits.data(), end);
}
}  // namespace

void request_encoder::finish(std::string& out, std::string_view body) const {
  out.clear();
  out.append(head_);
  append_number(out, body.size());
  out.append("\r\n\r\n");
  out.append(body);
}

void request_encoder::get_async_result(std::string& out, std::uint64_t handle,
                                       bool keep_result, std::uint64_t id) const {
  // Written straight into `out`: once it has grown to a request's size, a
  // poll allocates nothing.
  constexpr std::string_view part1 = R"({"method":"GetAsyncResult","params":{"asyncHandle":)";
  const std::string_view part2 = keep_result ? R"(,"keepResult":true},"id":)"
                                             : R"(,"keepResult":false},"id":)";
  std::array<char, 24> h, i;
  const auto hn = static_cast<std::size_t>(std::to_chars(h.data(), h.data() + h.size(), handle).ptr - h.data());
  const auto in = static_cast<std::size_t>(std::to_chars(i.data(), i.data() + i.size(), id).ptr - i.data());
  out.clear();
  out.append(head_);
  append_number(out, part1.size() + hn + part2.size() + in + 1);
  out.append("\r\n\r\n");
  out.append(part1);
  out.append(h.data(), hn);
  out.append(part2);
  out.append(i.data(), in);
  out.push_back('}');
}

void request_encoder::call(std::string& out, std::string_view method,
                           std::string_view params_json, std::uint64_t id) const {
  std::string body;
  body.reserve(64 + method.size() + params_json.size());
  body.append(R"({"method":")").append(method).append(R"(","params":)");
  body.append(params_json.empty() ? std::string_view("{}") : params_json);
  body.append(R"(,"id":)");
  append_number(body, id);
  body.append("}");
  finish(out, body);
}

}  // namespace pollster::detail
