// What real clusters do where real clients look (element-api.md, "What real
// clusters do"; issue 12): each behaviour against the simulator over TLS.
#include "sim_fixture.hpp"

#include "model.hpp"

namespace simtest {
namespace {

class Realism : public sim_test {};

TEST_F(Realism, WrongPasswordBodyIsTheTextTheSdkMatches) {
  start();
  reply r = conn().post(R"({"method":"GetAPI","id":1})", "/json-rpc/12.5", basic_auth("admin", "wrong"));
  ASSERT_TRUE(r.ok()) << r.ec.message();
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "401 Unauthorized.");
}

TEST_F(Realism, UnknownApiVersionIs404WithAnHtmlPage) {
  start();
  reply r = conn().post(R"({"method":"GetAPI","id":1})", "/json-rpc/99.0");
  ASSERT_TRUE(r.ok()) << r.ec.message();
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "text/html");
  EXPECT_NE(r.body.find("404 Not Found"), std::string::npos) << r.body;  // the Python SDK's test
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("<p> (.*?)</p>"))) << r.body;  // the Java SDK's pattern
  EXPECT_EQ(m[1].str(), "Unknown API version 99.0");
  EXPECT_EQ(srv().snapshot().requests_by_method.count("GetAPI"), 0u) << "refused before JSON-RPC";
  // The connection lives on.
  EXPECT_EQ(at(call(R"({"method":"GetAPI","id":1})"), "/result/currentVersion"), "\"12.5\"");
  EXPECT_EQ(srv().snapshot().connections_accepted, 1u);
}

TEST_F(Realism, IntegerParametersAsNumericStrings) {
  start();
  const auto h = srv().create_job("Clone", 0ms, false);
  std::string a = call(R"({"method":"GetAsyncResult","params":{"asyncHandle":")" + std::to_string(h) +
                       R"(","keepResult":true},"id":1})");
  EXPECT_EQ(at(a, "/result/status"), "\"complete\"") << a;
  // The vendor SDK's own test, byte for byte what a 12.x cluster answered.
  EXPECT_EQ(call(R"({"method":"GetAsyncResult","params":{"asyncHandle":"999999999"},"id":1})"),
            R"({"error":{"code":500,"message":"Async handle 999999999 does not exist.","name":"xAsyncHandleDoesNotExist"},"id":1})");
  std::string c = call(R"({"method":"CloneVolume","params":{"volumeID":"5","name":"s"},"id":2})");
  EXPECT_NE(handle_of(c), 0u) << c;
  EXPECT_EQ(json_array_size(call(R"({"method":"ListVolumes","params":{"limit":"1"},"id":3})"), "/result/volumes"), 1);
  EXPECT_EQ(at(call(R"({"method":"GetAsyncResult","params":{"asyncHandle":"12abc"},"id":1})"), "/error/name"),
            "\"xInvalidParameter\"");
}

TEST_F(Realism, UnknownHandleErrorDependsOnTheApiVersion) {
  start();
  for (std::string v : {"12.0", "12.3", "12.5"}) {
    reply r = conn().post(get_async_body(424242), "/json-rpc/" + v);
    EXPECT_EQ(r.body, does_not_exist(424242)) << v;
  }
  for (std::string v : {"1.0", "9.6", "11.8"}) {
    reply r = conn().post(get_async_body(424242), "/json-rpc/" + v);
    EXPECT_EQ(r.body, no_such_path(424242)) << v;
  }
  // A purged result's path existed: xDBNoSuchPath at every version.
  const auto h = srv().create_job("Clone", 0ms, false);
  call(get_async_body(h));
  EXPECT_EQ(call(get_async_body(h)), no_such_path(h));
  EXPECT_EQ(conn().post(get_async_body(h), "/json-rpc/11.8").body, no_such_path(h));
}

TEST_F(Realism, CloneVolumeReturnsCurveAndTheNewVolume) {
  auto cfg = base_config();
  cfg.job_duration = fixed(60s);
  start(cfg);
  std::string a = call(R"({"method":"CloneVolume","params":{"volumeID":5,"name":"copy-5"},"id":1})");
  EXPECT_EQ(json_keys(a, "/result"), (std::vector<std::string>{"asyncHandle", "cloneID", "curve", "volume", "volumeID"}));
  EXPECT_EQ(at(a, "/result/curve/4096"), "100");
  EXPECT_EQ(at(a, "/result/volume/volumeID"), at(a, "/result/volumeID"));
  EXPECT_EQ(at(a, "/result/volume/name"), "\"copy-5\"");
  EXPECT_EQ(at(a, "/result/volume/attributes"), "null");  // null where real ones are null
  EXPECT_EQ(at(a, "/result/volume/virtualVolumeID"), "null");
  EXPECT_EQ(at(a, "/result/volume/status"), "\"init\"");
  EXPECT_EQ(at(a, "/result/volume/qos/curve"), at(a, "/result/curve"));
  EXPECT_TRUE(keys_sorted_everywhere(a)) << a;
}

TEST_F(Realism, GetAPIListsEachVersionsMethods) {
  start();
  std::string a = call(R"({"method":"GetAPI","id":1})");
  const long n = json_array_size(a, "/result/supportedVersions");
  ASSERT_GT(n, 10);
  for (long i = 0; i < n; ++i) {
    std::string v = at(a, "/result/supportedVersions/" + std::to_string(i));
    v = v.substr(1, v.size() - 2);
    std::string methods = at(a, "/result/" + v);
    for (const char* m : {"\"GetAsyncResult\"", "\"ListAsyncResults\"", "\"CloneVolume\"", "\"ListVolumes\""})
      EXPECT_NE(methods.find(m), std::string::npos) << v << ": " << methods;
  }
  EXPECT_EQ(json_keys(a, "/result").size(), static_cast<std::size_t>(n) + 2);
  EXPECT_TRUE(keys_sorted_everywhere(a)) << a;
  EXPECT_TRUE(is_compact(a));
}

TEST_F(Realism, EveryAnswerIsCompactWithKeysSortedAtEveryLevel) {
  auto cfg = base_config();
  cfg.job_duration = fixed(60s);
  start(cfg);
  srv().create_job("Clone", 0ms, false);
  srv().create_job("BulkVolume", 0ms, true);
  const std::vector<std::string> requests{
      R"({"method":"CloneVolume","params":{"volumeID":5,"name":"n"},"id":1})",
      R"({"method":"CloneMultipleVolumes","params":{"volumes":[{"volumeID":3}]},"id":1})",
      R"({"method":"CopyVolume","params":{"volumeID":5,"dstVolumeID":6},"id":1})",
      R"({"method":"StartBulkVolumeRead","params":{"volumeID":5,"format":"native"},"id":1})",
      R"({"method":"AddDrives","params":{"drives":[1]},"id":1})",
      get_async_body(1, true), get_async_body(2, true), get_async_body(3, true), get_async_body(6, true),
      get_async_body(999),
      R"({"method":"ListAsyncResults","id":1})",
      R"({"method":"ListVolumes","id":1})",
      R"({"method":"ListVolumesForAccount","params":{"accountID":1},"id":1})",
      R"({"method":"GetClusterInfo","id":1})",
      R"({"method":"GetClusterVersionInfo","id":1})",
      R"({"method":"ListBulkVolumeJobs","id":1})",
      R"({"method":"ListSyncJobs","id":1})",
      R"({"method":"GetAPI","id":1})",
      R"({"method":"Nope","id":1})",
      R"({"method":"GetAsyncResult","id":1})",
  };
  for (const auto& req : requests) {
    std::string a = call(req);
    EXPECT_TRUE(keys_sorted_everywhere(a)) << req << " -> " << a;
    EXPECT_TRUE(is_compact(a)) << req << " -> " << a;
  }
}

TEST_F(Realism, ListVolumesShowsTheVolumesCloneVolumeCreated) {
  auto cfg = base_config();
  cfg.job_duration = fixed(300ms);
  start(cfg);
  EXPECT_EQ(call(R"({"method":"ListVolumes","id":1})"), R"({"id":1,"result":{"volumes":[]}})");
  std::string a = call(R"({"method":"CloneVolume","params":{"volumeID":5,"name":"a"},"id":1})");
  std::string b = call(R"({"method":"CloneVolume","params":{"volumeID":5,"name":"b","newAccountID":7},"id":1})");
  const std::string va = at(a, "/result/volumeID"), vb = at(b, "/result/volumeID");
  std::string all = call(R"({"method":"ListVolumes","id":1})");
  ASSERT_EQ(json_array_size(all, "/result/volumes"), 2) << all;
  EXPECT_EQ(at(all, "/result/volumes/0/volumeID"), va);
  EXPECT_EQ(at(all, "/result/volumes/1/volumeID"), vb);
  EXPECT_EQ(at(all, "/result/volumes/0"), at(a, "/result/volume")) << "the same object CloneVolume returned";
  // Filters: startVolumeID, limit, volumeIDs; by account.
  EXPECT_EQ(at(call(R"({"method":"ListVolumes","params":{"startVolumeID":)" + vb + R"(},"id":1})"),
               "/result/volumes/0/volumeID"), vb);
  EXPECT_EQ(json_array_size(call(R"({"method":"ListVolumes","params":{"limit":1},"id":1})"), "/result/volumes"), 1);
  EXPECT_EQ(at(call(R"({"method":"ListVolumes","params":{"volumeIDs":[)" + vb + R"(]},"id":1})"),
               "/result/volumes/0/name"), "\"b\"");
  std::string acct = call(R"({"method":"ListVolumesForAccount","params":{"accountID":7},"id":1})");
  ASSERT_EQ(json_array_size(acct, "/result/volumes"), 1) << acct;
  EXPECT_EQ(at(acct, "/result/volumes/0/accountID"), "7");
  EXPECT_EQ(json_array_size(call(R"({"method":"ListVolumesForAccount","params":{"accountID":3},"id":1})"),
                            "/result/volumes"), 0);
  EXPECT_EQ(at(call(R"({"method":"ListVolumesForAccount","id":1})"), "/error/name"), "\"xInvalidParameter\"");
  EXPECT_EQ(at(call(R"({"method":"ListVolumesForAccount","params":{"accountID":0},"id":1})"), "/error/name"),
            "\"xAccountIDDoesNotExist\"");
  // The way Cinder and Trident wait: the volume turns active when the clone ends.
  std::string v;
  ASSERT_TRUE(eventually([&] {
    v = call(R"({"method":"ListVolumes","params":{"volumeIDs":[)" + va + R"(]},"id":1})");
    return at(v, "/result/volumes/0/status") == "\"active\"";
  })) << v;
}

TEST_F(Realism, ClusterInfoAndVersionInfo) {
  start();
  std::string info = call(R"({"method":"GetClusterInfo","id":1})");
  EXPECT_EQ(at(info, "/result/clusterInfo/mvip"), "\"127.0.0.1\"");
  EXPECT_EQ(at(info, "/result/clusterInfo/name"), "\"pollster-sim\"");
  std::string ver = call(R"({"method":"GetClusterVersionInfo","id":1})");
  EXPECT_EQ(at(ver, "/result/clusterAPIVersion"), "\"12.5\"");
  EXPECT_EQ(at(ver, "/result/clusterVersion"), "\"12.5.0.0\"");
  EXPECT_EQ(at(ver, "/result/clusterVersionInfo/0/nodeVersion"), "\"12.5.0.0\"");
}

TEST_F(Realism, BulkVolumeAndSyncJobsWhileTheyRun) {
  start();
  const auto bulk = srv().create_job("BulkVolume", 60s, false);
  const auto clone = srv().create_job("Clone", 60s, false);
  srv().create_job("Clone", 0ms, false);  // complete: listed by neither
  std::string b = call(R"({"method":"ListBulkVolumeJobs","id":1})");
  ASSERT_EQ(json_array_size(b, "/result/bulkVolumeJobs"), 1) << b;
  EXPECT_EQ(at(b, "/result/bulkVolumeJobs/0/bulkVolumeID"), std::to_string(bulk));
  EXPECT_EQ(at(b, "/result/bulkVolumeJobs/0/status"), "\"running\"");
  // Integers, as the vendor's listing shows them.
  EXPECT_TRUE(matches(at(b, "/result/bulkVolumeJobs/0/percentComplete"), R"(\d+)")) << b;
  EXPECT_TRUE(matches(at(b, "/result/bulkVolumeJobs/0/elapsedTime"), R"(\d+)")) << b;
  EXPECT_TRUE(matches(at(b, "/result/bulkVolumeJobs/0/remainingTime"), R"(\d+)")) << b;
  EXPECT_GE(std::stoi(at(b, "/result/bulkVolumeJobs/0/remainingTime")), 58);
  std::string s = call(R"({"method":"ListSyncJobs","id":1})");
  ASSERT_EQ(json_array_size(s, "/result/syncJobs"), 1) << s;
  EXPECT_EQ(at(s, "/result/syncJobs/0/cloneID"), std::to_string(clone + 100));
  EXPECT_EQ(at(s, "/result/syncJobs/0/stage"), "\"whole\"");
  EXPECT_EQ(at(s, "/result/syncJobs/0/totalBytes"), "1001390080");
}

TEST_F(Realism, TheDocumentedGetForm) {
  start();
  const auto h = srv().create_job("Clone", 0ms, false);
  reply r = conn().post("", "/json-rpc/12.5/?method=GetAsyncResult&asyncHandle=" + std::to_string(h) +
                                "&keepResult=true&id=9",
                        std::nullopt, "GET");
  ASSERT_TRUE(r.ok()) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, call(get_async_body(h, true, "9")));
  EXPECT_FALSE(srv().record(h)->purged);
  // Percent escapes, and an array in JSON.
  reply l = conn().post("", "/json-rpc/12.5?method=ListAsyncResults&asyncResultTypes=%5B%22Clone%22%5D",
                        std::nullopt, "GET");
  EXPECT_EQ(at(l.body, "/id"), "null") << l.body;
  EXPECT_EQ(json_array_size(l.body, "/result/asyncHandles"), 1) << l.body;
  reply n = conn().post("", "/json-rpc/12.5/?method=CloneVolume&volumeID=5&name=my+vol%21", std::nullopt, "GET");
  EXPECT_EQ(at(n.body, "/result/volume/name"), "\"my vol!\"") << n.body;
}

TEST_F(Realism, CinderPostsToTheTrailingSlashUrlWithoutAnId) {
  start();
  reply r = conn().post(R"({"method":"GetClusterInfo","params":{}})", "/json-rpc/12.5/");
  ASSERT_TRUE(r.ok()) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.starts_with(R"({"id":null,"result":{"clusterInfo":)")) << r.body;
}

// The volume object byte for byte, with a hand-moved clock.
TEST(RealismModel, CloneVolumeAnswerByteForByte) {
  sim::config cfg;
  cfg.job_duration = fixed(1000ms);
  sim::detail::cluster m(cfg, 1451606400000);  // 2016-01-01T00:00:00Z
  sim::detail::request_parser p;
  std::string body = R"({"method":"CloneVolume","params":{"volumeID":"5","name":"c"},"id":1})";
  const std::size_t len = body.size();
  body.append(sim::detail::json_padding, ' ');
  std::string out;
  m.answer(p.parse(body.data(), len), {}, 0, out);
  EXPECT_EQ(out,
            R"({"id":1,"result":{"asyncHandle":1,"cloneID":101,"curve":{"1048576":15000,"131072":1950,"16384":270,"262144":3900,"32768":500,"4096":100,"524288":7600,"65536":1000,"8192":160},)"
            R"("volume":{"access":"readWrite","accountID":1,"attributes":null,"blockSize":4096,"createTime":"2016-01-01T00:00:00Z","deleteTime":"","enable512e":false,"iqn":"iqn.2010-01.com.solidfire:sim.c.1001","lastAccessTime":null,"lastAccessTimeIO":null,"name":"c","purgeTime":"",)"
            R"("qos":{"burstIOPS":15000,"burstTime":60,"curve":{"1048576":15000,"131072":1950,"16384":270,"262144":3900,"32768":500,"4096":100,"524288":7600,"65536":1000,"8192":160},"maxIOPS":15000,"minIOPS":50},)"
            R"("qosPolicyID":null,"scsiEUIDeviceID":"7073696d00000000000003e9","scsiNAADeviceID":"6f47acc1000000007073696d000003e9","sliceCount":1,"status":"init","totalSize":1001390080,"virtualVolumeID":null,"volumeAccessGroups":[],"volumeID":1001,"volumePairs":[]},"volumeID":1001}})");
}

}  // namespace
}  // namespace simtest
