// parse_endpoint: "https://host[:port]/json-rpc/<version>".
#include <gtest/gtest.h>

#include <string>

#include "pollster/endpoint.hpp"
#include "pollster/error.hpp"

using pollster::endpoint;
using pollster::error;
using pollster::parse_endpoint;

namespace {
endpoint ok(std::string_view url) {
  std::error_code ec;
  std::string why;
  endpoint ep = parse_endpoint(url, ec, why);
  EXPECT_FALSE(ec) << url << ": " << why;
  EXPECT_TRUE(why.empty()) << url;
  return ep;
}

// The reason for rejecting `url`; fails the test when it is accepted.
std::string rejected(std::string_view url) {
  std::error_code ec;
  std::string why;
  endpoint ep = parse_endpoint(url, ec, why);
  EXPECT_EQ(ec, error::invalid_endpoint) << "accepted: " << url;
  EXPECT_FALSE(why.empty()) << url;
  EXPECT_TRUE(ep.host.empty()) << url;
  EXPECT_TRUE(ep.target.empty()) << url;
  return why;
}

// What a well-formed URL parses to.
struct parsed {
  std::string_view url;
  bool tls;
  std::string_view host;
  decltype(endpoint::port) port;
  std::string_view api_version;
  std::string_view host_header;
  bool host_is_ip;
};

void expect_parses_to(const parsed& want) {
  const endpoint ep = ok(want.url);
  EXPECT_EQ(ep.tls, want.tls) << want.url;
  EXPECT_EQ(ep.host, want.host) << want.url;
  EXPECT_EQ(ep.port, want.port) << want.url;
  EXPECT_EQ(ep.api_version, want.api_version) << want.url;
  EXPECT_EQ(ep.host_header(), want.host_header) << want.url;
  EXPECT_EQ(ep.host_is_ip(), want.host_is_ip) << want.url;
}

::testing::AssertionResult mentions(const std::string& why, std::string_view word) {
  if (why.find(word) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << why << "' does not mention '" << word << "'";
}

// Each of `urls` is rejected with a reason that mentions `word`.
void expect_rejected_naming(std::string_view word, std::initializer_list<std::string_view> urls) {
  for (std::string_view url : urls) EXPECT_TRUE(mentions(rejected(url), word)) << url;
}
}  // namespace

TEST(Endpoint, HttpsDefaultPort) {
  expect_parses_to({.url = "https://cluster.example.com/json-rpc/12.5", .tls = true, .host = "cluster.example.com",
                    .port = 443, .api_version = "12.5", .host_header = "cluster.example.com", .host_is_ip = false});
  EXPECT_EQ(ok("https://cluster.example.com/json-rpc/12.5").target, "/json-rpc/12.5");
}

TEST(Endpoint, NodeEndpointPort442) {
  expect_parses_to({.url = "https://10.1.2.3:442/json-rpc/12.3", .tls = true, .host = "10.1.2.3", .port = 442,
                    .api_version = "12.3", .host_header = "10.1.2.3:442", .host_is_ip = true});
}

TEST(Endpoint, ExplicitDefaultPortIsLeftOutOfHostHeader) {
  EXPECT_EQ(ok("https://mvip:443/json-rpc/12.5").host_header(), "mvip");
  EXPECT_EQ(ok("http://mvip:80/json-rpc/12.5").host_header(), "mvip");
  // The other scheme's default is not this scheme's default.
  EXPECT_EQ(ok("http://mvip:443/json-rpc/12.5").host_header(), "mvip:443");
  EXPECT_EQ(ok("https://mvip:80/json-rpc/12.5").host_header(), "mvip:80");
}

TEST(Endpoint, PlainHttp) {
  const endpoint ep = ok("http://127.0.0.1/json-rpc/9");
  EXPECT_FALSE(ep.tls);
  EXPECT_EQ(ep.port, 80);
  EXPECT_EQ(ep.api_version, "9");
  const endpoint ep2 = ok("http://localhost:18443/json-rpc/11.0");
  EXPECT_EQ(ep2.port, 18443);
  EXPECT_EQ(ep2.host_header(), "localhost:18443");
}

TEST(Endpoint, SchemeIsCaseInsensitive) {
  const endpoint ep = ok("HTTPS://mvip.example/json-rpc/12.5");
  EXPECT_TRUE(ep.tls);
  EXPECT_EQ(ep.host, "mvip.example");
}

TEST(Endpoint, Ipv6LiteralWithPort) {
  const endpoint ep = ok("https://[::1]:8443/json-rpc/12.5");
  EXPECT_EQ(ep.host, "::1");  // without brackets
  EXPECT_EQ(ep.port, 8443);
  EXPECT_EQ(ep.host_header(), "[::1]:8443");
  EXPECT_TRUE(ep.host_is_ip());
}

TEST(Endpoint, Ipv6LiteralDefaultPort) {
  const endpoint ep = ok("https://[fd00:10::25]/json-rpc/12.5");
  EXPECT_EQ(ep.host, "fd00:10::25");
  EXPECT_EQ(ep.port, 443);
  EXPECT_EQ(ep.host_header(), "[fd00:10::25]");
}

TEST(Endpoint, PortBounds) {
  EXPECT_EQ(ok("https://h:1/json-rpc/12.5").port, 1);
  EXPECT_EQ(ok("https://h:65535/json-rpc/12.5").port, 65535);
}

TEST(Endpoint, ErrorIsClearedOnSuccess) {
  std::error_code ec = error::invalid_endpoint;
  std::string why = "stale";
  parse_endpoint("https://h/json-rpc/12.5", ec, why);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(why.empty());
}

TEST(Endpoint, MissingOrWrongScheme) {
  expect_rejected_naming("https://", {"cluster.example.com/json-rpc/12.5", "ftp://cluster/json-rpc/12.5",
                                      "//cluster/json-rpc/12.5", "", " https://cluster/json-rpc/12.5"});
}

TEST(Endpoint, UserinfoRefused) {
  const std::string why = rejected("https://admin:secret@cluster/json-rpc/12.5");
  EXPECT_TRUE(mentions(why, "credentials"));
  rejected("https://admin@cluster/json-rpc/12.5");
}

TEST(Endpoint, BadPorts) {
  for (const char* url : {"https://h:0/json-rpc/12.5", "https://h:70000/json-rpc/12.5",
                          "https://h:65536/json-rpc/12.5", "https://h:abc/json-rpc/12.5",
                          "https://h:-1/json-rpc/12.5", "https://h:+443/json-rpc/12.5",
                          "https://h:44 3/json-rpc/12.5", "https://h:443x/json-rpc/12.5",
                          "https://h:99999999999999999999/json-rpc/12.5",
                          "https://[::1]:0/json-rpc/12.5", "https://[::1]:abc/json-rpc/12.5"})
    EXPECT_TRUE(mentions(rejected(url), "port")) << url;
}

TEST(Endpoint, EmptyPort) {
  EXPECT_TRUE(mentions(rejected("https://h:/json-rpc/12.5"), "port"));
}

TEST(Endpoint, EmptyPortAfterIpv6Literal) {
  std::error_code ec;
  std::string why;
  parse_endpoint("https://[::1]:/json-rpc/12.5", ec, why);
  EXPECT_EQ(ec, error::invalid_endpoint);
  EXPECT_TRUE(mentions(why, "port"));
}

TEST(Endpoint, MissingOrWrongPath) {
  for (const char* url : {"https://h", "https://h/", "https://h:443", "https://h/json-rpc",
                          "https://h/jsonrpc/12.5", "https://h/api/json-rpc/12.5",
                          "https://h/JSON-RPC/12.5x", "https://h//json-rpc/12.5"})
    EXPECT_TRUE(mentions(rejected(url), "/json-rpc/")) << url;
}

TEST(Endpoint, BadApiVersion) {
  for (const char* url :
       {"https://h/json-rpc/12.5a", "https://h/json-rpc/", "https://h/json-rpc/.5",
        "https://h/json-rpc/12.", "https://h/json-rpc/12..5", "https://h/json-rpc/v12.5",
        "https://h/json-rpc/12.5/", "https://h/json-rpc/12.5/extra", "https://h/json-rpc/12,5",
        "https://h/json-rpc/12.5%20"})
    EXPECT_TRUE(mentions(rejected(url), "version")) << url;
  EXPECT_TRUE(mentions(rejected("https://h/json-rpc/12.5a"), "12.5a"));
}

TEST(Endpoint, QueryOrFragment) {
  EXPECT_TRUE(mentions(rejected("https://h/json-rpc/12.5?x=1"), "query"));
  EXPECT_TRUE(mentions(rejected("https://h/json-rpc/12.5#top"), "fragment"));
  EXPECT_TRUE(mentions(rejected("https://h/json-rpc/12.5?"), "query"));
}

TEST(Endpoint, EmptyOrBadHost) {
  expect_rejected_naming("host", {"https:///json-rpc/12.5", "https://", "https://:443/json-rpc/12.5",
                                  "https://bad host/json-rpc/12.5", "https://h\r\nX-Injected: 1/json-rpc/12.5"});
  // An IPv6 literal must be bracketed.
  rejected("https://fe80::1/json-rpc/12.5");
}

TEST(Endpoint, BadIpv6Literals) {
  EXPECT_TRUE(mentions(rejected("https://[::1/json-rpc/12.5"), "IPv6"));
  EXPECT_TRUE(mentions(rejected("https://[zz::q]/json-rpc/12.5"), "IPv6"));
  EXPECT_TRUE(mentions(rejected("https://[]/json-rpc/12.5"), "IPv6"));
  rejected("https://[::1]x/json-rpc/12.5");
  rejected("https://[10.0.0.1]/json-rpc/12.5");
}

TEST(Endpoint, ReasonQuotesTheUrl) {
  const std::string why = rejected("ftp://cluster/json-rpc/12.5");
  EXPECT_TRUE(mentions(why, "ftp://cluster/json-rpc/12.5"));
  EXPECT_EQ(why.find('\n'), std::string::npos);  // one line
}
