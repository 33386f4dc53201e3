// What a list costs the cluster (issue 11 point 4): other clients' results,
// the service-time model, running list entries, --pretty, and the completion
// times the load tool measures detection delay from.
#include "sim_fixture.hpp"

namespace simtest {
namespace {

class ListCost : public sim_test {};

TEST_F(ListCost, OtherResultsAreListedLikeOurs) {
  auto cfg = base_config();
  cfg.other_results = 500;
  cfg.other_results_first_handle = 5000;
  start(cfg);
  const auto ours = srv().create_job("Clone", 0ms, false);
  EXPECT_LT(ours, 5000u);
  std::string list = call(R"({"method":"ListAsyncResults","id":1})");
  ASSERT_EQ(json_array_size(list, "/result/asyncHandles"), 501) << list.substr(0, 400);
  EXPECT_EQ(at(list, "/result/asyncHandles/0/asyncResultID"), std::to_string(ours));
  EXPECT_EQ(json_keys(list, "/result/asyncHandles/0"), json_keys(list, "/result/asyncHandles/1"));
  EXPECT_EQ(at(list, "/result/asyncHandles/1/asyncResultID"), "5000");
  EXPECT_EQ(at(list, "/result/asyncHandles/1/completed"), "true");
  // A mix of types, each with its complete result, as GetAsyncResult gives it.
  std::string bulk = call(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["BulkVolume"]},"id":1})");
  EXPECT_GT(json_array_size(bulk, "/result/asyncHandles"), 50);
  EXPECT_EQ(at(call(get_async_body(5003, true)), "/result/result"), srv().record(5003)->result_json);
  EXPECT_TRUE(srv().record(5000)->other);
  EXPECT_FALSE(srv().record(ours)->other);
  EXPECT_EQ(srv().snapshot().live_jobs, 501u);
}

TEST_F(ListCost, RunningEntriesCarryTheVendorMembersAndDetails) {
  start();
  const auto running = srv().create_job("Clone", 60s, false);
  const auto done = srv().create_job("Clone", 0ms, false);
  std::string list = call(R"({"method":"ListAsyncResults","id":1})");
  EXPECT_EQ(json_keys(list, "/result/asyncHandles/0"),
            (std::vector<std::string>{"asyncResultID", "completed", "createTime", "data", "details", "lastUpdateTime",
                                      "resultType", "success"}))
      << list;
  EXPECT_EQ(at(list, "/result/asyncHandles/0/asyncResultID"), std::to_string(running));
  EXPECT_EQ(at(list, "/result/asyncHandles/0/data"), "{}");
  std::string get = call(get_async_body(running, true));
  // The same details members GetAsyncResult gives (the values move with time).
  EXPECT_EQ(json_keys(list, "/result/asyncHandles/0/details"), json_keys(get, "/result/details"));
  EXPECT_EQ(at(list, "/result/asyncHandles/0/details/totalBytes"), at(get, "/result/details/totalBytes"));
  EXPECT_EQ(at(list, "/result/asyncHandles/1/asyncResultID"), std::to_string(done));
  EXPECT_EQ(at(list, "/result/asyncHandles/1/details"), "<absent>");
}

TEST_F(ListCost, ServiceTimeGrowsWithTheAnswersSize) {
  auto cfg = base_config();
  cfg.other_results = 2000;
  cfg.service.base = 200us;
  cfg.service.per_kib = 10us;
  start(cfg);
  auto cost_of = [&](const std::string& body) {
    const auto before = srv().snapshot().service_time_ns;
    std::string a = call(body);
    const auto after = srv().snapshot().service_time_ns;
    return std::pair{after - before, a.size()};
  };
  auto [list_ns, list_bytes] = cost_of(R"({"method":"ListAsyncResults","id":1})");
  auto [get_ns, get_bytes] = cost_of(get_async_body(1000000000, true));
  // The documented formula, exactly: base + per_kib x bytes / 1024.
  EXPECT_EQ(list_ns, 200'000 + 10'000 * list_bytes / 1024);
  EXPECT_EQ(get_ns, 200'000 + 10'000 * get_bytes / 1024);
  EXPECT_GT(list_bytes, 100 * get_bytes);
  EXPECT_GT(list_ns, 10 * get_ns);
}

TEST_F(ListCost, ServiceTimeOffByDefault) {
  start();
  call(R"({"method":"GetAPI","id":1})");
  EXPECT_EQ(srv().snapshot().service_time_ns, 0u);
}

TEST_F(ListCost, PrettyAnswersAreIndentedValidJson) {
  auto cfg = base_config();
  cfg.pretty = true;
  start(cfg);
  const auto h = srv().create_job("Clone", 0ms, false);
  srv().create_job("Clone", 60s, false);
  for (std::string req : {get_async_body(h, true), std::string(R"({"method":"ListAsyncResults","id":"x"})"),
                          std::string(R"({"method":"ListVolumes","id":1})"), get_async_body(424242),
                          std::string(R"({"method":"CloneVolume","params":{"volumeID":1,"name":"a \"b\""},"id":1})")}) {
    std::string a = call(req);
    EXPECT_TRUE(valid_json(a)) << a;
    EXPECT_FALSE(is_compact(a)) << a;
    EXPECT_NE(a.find("\n  \""), std::string::npos) << a;
  }
  std::string a = call(get_async_body(h, true, "7"));
  EXPECT_TRUE(a.starts_with("{\n  \"id\": 7,\n  \"result\": {\n    \"createTime\": \"")) << a;
  // The same values as a compact answer.
  EXPECT_EQ(at(a, "/result/result"), srv().record(h)->result_json);
  EXPECT_NE(call(R"({"method":"ListVolumes","id":1})").find("\"volumes\": [\n"), std::string::npos);
  EXPECT_NE(call(R"({"method":"ListBulkVolumeJobs","id":1})").find("\"bulkVolumeJobs\": []"), std::string::npos);
}

TEST_F(ListCost, CompletionTimeOfEachJob) {
  start();
  const auto t0 = std::chrono::steady_clock::now();
  const auto h = srv().create_job("Clone", 400ms, false);
  const auto t1 = std::chrono::steady_clock::now();
  auto done = srv().completion_time(h);
  ASSERT_TRUE(done);
  EXPECT_GE(*done, t0 + 400ms - 1ms);
  EXPECT_LE(*done, t1 + 400ms + 1ms);
  EXPECT_FALSE(srv().completion_time(987654));
  // Running before it, complete from it on: the first complete answer comes after.
  std::string a;
  ASSERT_TRUE(eventually([&] {
    a = call(get_async_body(h, true));
    return at(a, "/result/status") == "\"complete\"";
  }));
  EXPECT_GE(std::chrono::steady_clock::now(), *done);
}

}  // namespace
}  // namespace simtest
