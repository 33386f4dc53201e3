// Shared test fixture: an in-process simulator on an ephemeral port and a
// client talking TLS to it.
#pragma once

#include "client.hpp"
#include "json_check.hpp"
#include "pollster/sim/server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>

namespace simtest {

using namespace std::chrono_literals;
namespace sim = pollster::sim;

inline sim::config base_config() {
  sim::config c;
  c.user = "admin";
  c.password = "s3cret";
  return c;
}

inline sim::duration_dist fixed(sim::duration d) {
  sim::duration_dist x;
  x.shape = sim::duration_dist::kind::fixed;
  x.a = d;
  return x;
}

inline std::string get_async_body(std::uint64_t handle, std::optional<bool> keep = std::nullopt,
                                  std::string_view id = "1") {
  std::string b = R"({"method":"GetAsyncResult","params":{"asyncHandle":)" + std::to_string(handle);
  if (keep) b += std::string(R"(,"keepResult":)") + (*keep ? "true" : "false");
  b += "}";
  if (!id.empty()) b += std::string(R"(,"id":)") + std::string(id);
  return b + "}";
}

/// Minified JSON at `pointer`, or "<absent>".
inline std::string at(const std::string& json, std::string_view pointer) {
  return json_at(json, pointer).value_or("<absent>");
}

inline std::uint64_t handle_of(const std::string& answer) {
  auto h = json_at(answer, "/result/asyncHandle");
  return h ? std::stoull(*h) : 0;
}

inline bool matches(const std::string& s, const std::string& re) { return std::regex_match(s, std::regex(re)); }

inline const std::string iso_re = R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)";

inline std::string no_such_path(std::uint64_t handle, std::string_view id = "1") {
  return R"({"error":{"code":500,"message":"DBClient operation requested on a non-existent path at [/asyncresults/)" +
         std::to_string(handle) + R"(]","name":"xDBNoSuchPath"},"id":)" + std::string(id) + "}";
}

/// A handle that never existed, asked at API 12.x.
inline std::string does_not_exist(std::int64_t handle, std::string_view id = "1") {
  return R"({"error":{"code":500,"message":"Async handle )" + std::to_string(handle) +
         R"( does not exist.","name":"xAsyncHandleDoesNotExist"},"id":)" + std::string(id) + "}";
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

class sim_test : public ::testing::Test {
 protected:
  void start(sim::config cfg = base_config()) {
    server_ = std::make_unique<sim::server>(std::move(cfg));
    server_->start();
  }
  sim::server& srv() { return *server_; }
  client_options opts() const {
    client_options o;
    o.port = server_->port();
    o.user = "admin";
    o.password = "s3cret";
    return o;
  }
  std::unique_ptr<client> make_client() const { return std::make_unique<client>(opts()); }
  client& conn() {
    if (!client_) client_ = make_client();
    return *client_;
  }
  /// One JSON-RPC call on the fixture's keep-alive connection; expects HTTP 200.
  std::string call(std::string_view body) {
    reply r = conn().post(body);
    EXPECT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json");
    return r.body;
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
  }

  std::unique_ptr<sim::server> server_;
  std::unique_ptr<client> client_;
};

}  // namespace simtest
