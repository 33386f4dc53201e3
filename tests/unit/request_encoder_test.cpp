// The bytes of one HTTP/1.1 JSON-RPC POST.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "pollster/endpoint.hpp"
#include "protocol/request_encoder.hpp"

using pollster::endpoint;
using pollster::detail::base64_encode;
using pollster::detail::request_encoder;

namespace {
endpoint make(std::string_view url) {
  std::error_code ec;
  std::string why;
  endpoint ep = pollster::parse_endpoint(url, ec, why);
  EXPECT_FALSE(ec) << why;
  return ep;
}

struct split_request {
  std::string head;  // up to and including the blank line
  std::string body;
};

split_request split(const std::string& req) {
  const auto at = req.find("\r\n\r\n");
  EXPECT_NE(at, std::string::npos);
  return {req.substr(0, at + 4), req.substr(at + 4)};
}

std::size_t content_length(const std::string& head) {
  const std::string key = "\r\nContent-Length: ";
  const auto at = head.find(key);
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos) return 0;
  return std::stoul(head.substr(at + key.size()));
}
}  // namespace

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, CredentialsAndBinary) {
  EXPECT_EQ(base64_encode("admin:admin"), "YWRtaW46YWRtaW4=");
  EXPECT_EQ(base64_encode("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(base64_encode(std::string_view("\xff\xfe\xfd", 3)), "//79");
  EXPECT_EQ(base64_encode(std::string_view("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(base64_encode(std::string_view("\0", 1)), "AA==");
  EXPECT_EQ(base64_encode(std::string_view("\0\0\0", 3)), "AAAA");
  // UTF-8 passwords: bytes, not characters.
  EXPECT_EQ(base64_encode("\xc3\xa9t\xc3\xa9"), "w6l0w6k=");
}

TEST(RequestEncoder, GetAsyncResultExactBytes) {
  const endpoint ep = make("https://10.117.60.10:8443/json-rpc/12.5");
  request_encoder enc(ep, "admin", "admin");
  std::string out;
  enc.get_async_result(out, 389, true, 1);
  const std::string body =
      R"({"method":"GetAsyncResult","params":{"asyncHandle":389,"keepResult":true},"id":1})";
  const std::string want =
      "POST /json-rpc/12.5 HTTP/1.1\r\n"
      "Host: 10.117.60.10:8443\r\n"
      "Authorization: Basic YWRtaW46YWRtaW4=\r\n"
      "Content-Type: application/json-rpc\r\n"
      "Accept: application/json\r\n"
      "Content-Length: " + std::to_string(body.size()) + "\r\n"
      "\r\n" + body;
  EXPECT_EQ(out, want);
  EXPECT_EQ(body.size(), 81u);
}

TEST(RequestEncoder, DefaultPortHostHeaderAndIpv6) {
  request_encoder a(make("https://mvip.example.com/json-rpc/11.0"), "u", "p");
  std::string out;
  a.get_async_result(out, 1, true, 1);
  EXPECT_EQ(out.rfind("POST /json-rpc/11.0 HTTP/1.1\r\nHost: mvip.example.com\r\n", 0), 0u) << out;
  request_encoder b(make("https://[fd00::7]:442/json-rpc/12.5"), "u", "p");
  b.get_async_result(out, 1, true, 1);
  EXPECT_NE(out.find("\r\nHost: [fd00::7]:442\r\n"), std::string::npos) << out;
}

TEST(RequestEncoder, KeepResultFalse) {
  request_encoder enc(make("https://h/json-rpc/12.5"), "admin", "admin");
  std::string out;
  enc.get_async_result(out, 42, false, 9);
  const auto s = split(out);
  EXPECT_EQ(s.body,
            R"({"method":"GetAsyncResult","params":{"asyncHandle":42,"keepResult":false},"id":9})");
  EXPECT_EQ(content_length(s.head), s.body.size());
}

TEST(RequestEncoder, ContentLengthMatchesBodyForAllNumberWidths) {
  request_encoder enc(make("https://h/json-rpc/12.5"), "a", "b");
  std::string out;
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  for (std::uint64_t handle : {std::uint64_t{0}, std::uint64_t{9}, std::uint64_t{10},
                               std::uint64_t{999999999}, max}) {
    for (std::uint64_t id : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{123456}, max}) {
      for (bool keep : {true, false}) {
        enc.get_async_result(out, handle, keep, id);  // reuses `out`
        const auto s = split(out);
        EXPECT_EQ(content_length(s.head), s.body.size()) << handle << " " << id;
        const std::string want = R"({"method":"GetAsyncResult","params":{"asyncHandle":)" +
                                 std::to_string(handle) +
                                 (keep ? R"(,"keepResult":true},"id":)"
                                       : R"(,"keepResult":false},"id":)") +
                                 std::to_string(id) + "}";
        EXPECT_EQ(s.body, want);
      }
    }
  }
}

TEST(RequestEncoder, OutputIsReplacedNotAppended) {
  request_encoder enc(make("https://h/json-rpc/12.5"), "a", "b");
  std::string out = "garbage that must go";
  enc.get_async_result(out, 1, true, 1);
  EXPECT_EQ(out.rfind("POST ", 0), 0u);
  const std::string first = out;
  enc.get_async_result(out, 1, true, 1);
  EXPECT_EQ(out, first);
  enc.call(out, "GetAPI", "", 2);
  EXPECT_EQ(out.rfind("POST ", 0), 0u);
  EXPECT_EQ(out.find("GetAsyncResult"), std::string::npos);
}

TEST(RequestEncoder, CallWithParams) {
  request_encoder enc(make("https://cluster:443/json-rpc/12.5"), "admin", "admin");
  std::string out;
  enc.call(out, "CloneVolume", R"({"volumeID":5,"name":"clone-1"})", 7);
  const auto s = split(out);
  EXPECT_EQ(s.body, R"({"method":"CloneVolume","params":{"volumeID":5,"name":"clone-1"},"id":7})");
  EXPECT_EQ(content_length(s.head), s.body.size());
  EXPECT_EQ(s.head,
            "POST /json-rpc/12.5 HTTP/1.1\r\nHost: cluster\r\n"
            "Authorization: Basic YWRtaW46YWRtaW4=\r\n"
            "Content-Type: application/json-rpc\r\nAccept: application/json\r\n"
            "Content-Length: " + std::to_string(s.body.size()) + "\r\n\r\n");
}

TEST(RequestEncoder, CallWithoutParamsSendsEmptyObject) {
  request_encoder enc(make("https://cluster/json-rpc/12.5"), "admin", "admin");
  std::string out;
  enc.call(out, "ListAsyncResults", "", 3);
  const auto s = split(out);
  EXPECT_EQ(s.body, R"({"method":"ListAsyncResults","params":{},"id":3})");
  EXPECT_EQ(content_length(s.head), s.body.size());
}

TEST(RequestEncoder, CredentialsWithColonAndNonAscii) {
  request_encoder enc(make("https://cluster/json-rpc/12.5"), "admin", "p:ss\xc3\xa9");
  std::string out;
  enc.get_async_result(out, 1, true, 1);
  EXPECT_NE(out.find("\r\nAuthorization: Basic " + base64_encode("admin:p:ss\xc3\xa9") + "\r\n"),
            std::string::npos);
  // No raw password bytes anywhere on the wire.
  EXPECT_EQ(out.find("p:ss"), std::string::npos);
}

TEST(RequestEncoder, HeaderCannotBeInjectedThroughCredentials) {
  request_encoder enc(make("https://cluster/json-rpc/12.5"), "ad\r\nX-Evil: 1", "pw");
  std::string out;
  enc.get_async_result(out, 1, true, 1);
  EXPECT_EQ(out.find("X-Evil"), std::string::npos);
  const auto s = split(out);
  // Exactly the 5 expected header lines.
  int lines = 0;
  for (std::size_t i = 0; (i = s.head.find("\r\n", i)) != std::string::npos; i += 2) ++lines;
  EXPECT_EQ(lines, 1 + 5 + 1);  // request line, 5 headers, blank line
}
