// The documented API, over TLS: element-api.md's test vectors and semantics.
#include "sim_fixture.hpp"

#include <set>

namespace simtest {
namespace {

class Conformance : public sim_test {
 protected:
  // Starts the simulator (base_config()) with one job in it: its handle.
  std::uint64_t started_with_job(const std::string& result_type, sim::duration run_for, bool fail) {
    start();
    return srv().create_job(result_type, run_for, fail);
  }
  // Asks for `h` `times` times with keepResult=`keep`: every answer says `status`.
  void expect_polled_as(std::uint64_t h, int times, bool keep, const char* status) {
    for (int i = 0; i < times; ++i) {
      const std::string a = call(get_async_body(h, keep));
      EXPECT_EQ(at(a, "/result/status"), status) << a;
    }
  }
  // The simulator's record of `h`: purged or not, complete or not, and how
  // many answers said complete.
  void expect_record(std::uint64_t h, bool purged, bool complete, std::uint32_t complete_answers) {
    const auto rec = srv().record(h);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->purged, purged);
    EXPECT_EQ(rec->complete, complete);
    EXPECT_EQ(rec->complete_answers, complete_answers);
  }
};

TEST_F(Conformance, CloneVolumeRunsThenCompletesWithTheDocumentedShape) {
  auto cfg = base_config();
  cfg.job_duration = fixed(1500ms);  // long enough to see it running on a loaded machine
  start(cfg);
  std::string started = call(R"({"method": "CloneVolume", "params": {"volumeID": 5, "name": "c1"}, "id": 1})");
  ASSERT_TRUE(matches(started, R"(\{"id":1,"result":\{"asyncHandle":(\d+),"cloneID":\d+,"curve":\{.*\},"volume":\{.*\},"volumeID":\d+\}\})"))
      << started;
  const auto h = handle_of(started);

  std::string running = call(get_async_body(h, true, "7"));
  EXPECT_EQ(at(running, "/id"), "7");
  EXPECT_EQ(at(running, "/result/status"), "\"running\"");
  EXPECT_EQ(at(running, "/result/resultType"), "\"Clone\"");
  EXPECT_TRUE(matches(running, R"(.*"details":\{"bytesPerSecond":[0-9.]+,"currentBytes":\d+,"percentComplete":\d+\.\d\d,"stage":"whole","totalBytes":\d+\}.*)")) << running;
  EXPECT_EQ(at(running, "/result/result"), "<absent>");
  EXPECT_EQ(at(running, "/result/error"), "<absent>");
  EXPECT_TRUE(matches(at(running, "/result/createTime"), "\"" + iso_re + "\""));
  EXPECT_TRUE(matches(at(running, "/result/lastUpdateTime"), "\"" + iso_re + "\""));

  std::string done;
  ASSERT_TRUE(eventually([&] {
    done = call(get_async_body(h, true));
    return at(done, "/result/status") == "\"complete\"";
  }));
  // Byte for byte the shape of the vendor's success vector (keys sorted, id first).
  EXPECT_TRUE(matches(done, R"(\{"id":1,"result":\{"createTime":")" + iso_re + R"(","lastUpdateTime":")" + iso_re +
                                R"(","result":\{"cloneID":\d+,"message":"Clone complete\.","volumeID":\d+\},"resultType":"Clone","status":"complete"\}\})"))
      << done;
  EXPECT_EQ(at(done, "/result/details"), "<absent>");
  // The clone's result names the clone and volume the start answer announced.
  EXPECT_EQ(at(done, "/result/result/cloneID"), at(started, "/result/cloneID"));
  EXPECT_EQ(at(done, "/result/result/volumeID"), at(started, "/result/volumeID"));
}

TEST_F(Conformance, KeepResultTrueKeepsTheResult) {
  const auto h = started_with_job("Clone", 0ms, false);
  expect_polled_as(h, 3, true, "\"complete\"");
  expect_record(h, /*purged=*/false, /*complete=*/true, 3);
}

TEST_F(Conformance, KeepResultFalsePurgesOnTheCompleteAnswer) {
  const auto h = started_with_job("Clone", 0ms, false);
  expect_polled_as(h, 1, false, "\"complete\"");
  EXPECT_EQ(call(get_async_body(h, false)), no_such_path(h));
  EXPECT_EQ(call(get_async_body(h, true)), no_such_path(h));
  auto rec = srv().record(h);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->purged);
  EXPECT_FALSE(rec->evicted);
  EXPECT_EQ(rec->complete_answers, 1u);
  EXPECT_EQ(srv().snapshot().results_purged, 1u);
}

TEST_F(Conformance, KeepResultAbsentPurgesLikeFalse) {
  const auto h = started_with_job("DriveAdd", 0ms, false);
  std::string a = call(get_async_body(h));
  EXPECT_EQ(at(a, "/result/status"), "\"complete\"") << a;
  EXPECT_EQ(call(get_async_body(h)), no_such_path(h));
}

TEST_F(Conformance, QueryingARunningHandleNeverPurges) {
  const auto h = started_with_job("Clone", 60s, false);
  expect_polled_as(h, 5, false, "\"running\"");
  expect_record(h, /*purged=*/false, /*complete=*/false, 0);
}

TEST_F(Conformance, TheDocumentedNoSuchPathVector) {
  start();
  // element-api.md: {"error": {"code": 500, "message": "DBClient operation requested on a
  // non-existent path at [/asyncresults/1]", "name": "xDBNoSuchPath"}, "id": 1}
  // An API version before 12.0 answers it for a handle that never existed.
  reply r = conn().post(R"({"method": "GetAsyncResult", "params": {"asyncHandle": 1}, "id": 1})", "/json-rpc/11.0");
  std::string a = r.body;
  EXPECT_EQ(a, no_such_path(1));
  EXPECT_EQ(at(a, "/error/code"), "500");
  EXPECT_EQ(at(a, "/error/name"), "\"xDBNoSuchPath\"");
  EXPECT_EQ(conn().post(get_async_body(389), "/json-rpc/10.0").body, no_such_path(389));
  // 12.x answers it for a purged result.
  const auto h = srv().create_job("Clone", 0ms, false);
  call(get_async_body(h));
  EXPECT_EQ(call(get_async_body(h)), no_such_path(h));
}

TEST_F(Conformance, IdIsEchoedAsGiven) {
  const auto h = started_with_job("Clone", 60s, false);
  for (std::string id : {"1", "0", "-5", "12345678901", "\"abc\"", "\"with \\\"escapes\\\" \\u00e9\"", "null",
                         "2.5"}) {
    std::string a = call(get_async_body(h, true, id));
    EXPECT_EQ(at(a, "/id"), *json_at(id, "")) << a;
    EXPECT_TRUE(valid_json(a)) << a;
  }
  // Absent id: answered with id null.
  std::string a = call(get_async_body(h, true, ""));
  EXPECT_EQ(at(a, "/id"), "null") << a;
  // Errors echo the id too.
  EXPECT_EQ(call(get_async_body(999, true, "\"x-1\"")), does_not_exist(999, "\"x-1\""));
}

TEST_F(Conformance, MembersInAnyOrderAndWhitespace) {
  const auto h = started_with_job("Clone", 0ms, false);
  std::string body = "\n { \"id\" : 42 ,\t\"params\" : { \"keepResult\" : true , \"asyncHandle\" : " +
                     std::to_string(h) + " } , \"method\" : \"GetAsyncResult\" } \r\n";
  std::string a = call(body);
  EXPECT_EQ(at(a, "/id"), "42");
  EXPECT_EQ(at(a, "/result/status"), "\"complete\"");
}

TEST_F(Conformance, TaskFailureCarriesErrorAndStatusComplete) {
  const auto h = started_with_job("BulkVolume", 0ms, true);
  std::string a = call(get_async_body(h, true));
  // Shape of the vendor's failure vector.
  EXPECT_TRUE(matches(a, R"(\{"id":1,"result":\{"createTime":")" + iso_re +
                             R"(","error":\{"bvID":\d+,"message":"Bulk volume job failed","name":"xBulkVolumeScriptFailure","volumeID":\d+\},"lastUpdateTime":")" +
                             iso_re + R"(","resultType":"BulkVolume","status":"complete"\}\})"))
      << a;
  EXPECT_EQ(at(a, "/result/result"), "<absent>");
  auto rec = srv().record(h);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->failed);
  EXPECT_EQ(rec->result_json, at(a, "/result/error"));
}

TEST_F(Conformance, ListAsyncResultsShapeFilterAndNoPurge) {
  start();
  const auto done = srv().create_job("Clone", 0ms, false);
  const auto failed = srv().create_job("BulkVolume", 0ms, true);
  const auto running = srv().create_job("DriveAdd", 60s, false);
  const auto purged = srv().create_job("Clone", 0ms, false);
  call(get_async_body(purged, false));  // purges it

  std::string list = call(R"({"method":"ListAsyncResults","params":{},"id":9})");
  EXPECT_EQ(at(list, "/id"), "9");
  ASSERT_EQ(json_array_size(list, "/result/asyncHandles"), 3) << list;
  const std::vector<std::string> keys{"asyncResultID", "completed",  "createTime", "data",
                                      "lastUpdateTime", "resultType", "success"};
  for (int i = 0; i < 2; ++i) EXPECT_EQ(json_keys(list, "/result/asyncHandles/" + std::to_string(i)), keys);
  // The running entry: the same members, and details (list_cost_test.cpp).
  auto running_keys = keys;
  running_keys.insert(running_keys.begin() + 4, "details");
  EXPECT_EQ(json_keys(list, "/result/asyncHandles/2"), running_keys);
  EXPECT_EQ(at(list, "/result/asyncHandles/0/asyncResultID"), std::to_string(done));
  EXPECT_EQ(at(list, "/result/asyncHandles/0/completed"), "true");
  EXPECT_EQ(at(list, "/result/asyncHandles/0/success"), "true");
  EXPECT_EQ(at(list, "/result/asyncHandles/0/resultType"), "\"Clone\"");
  EXPECT_EQ(at(list, "/result/asyncHandles/0/data"), srv().record(done)->result_json);
  EXPECT_EQ(at(list, "/result/asyncHandles/1/asyncResultID"), std::to_string(failed));
  EXPECT_EQ(at(list, "/result/asyncHandles/1/completed"), "true");
  EXPECT_EQ(at(list, "/result/asyncHandles/1/success"), "false");
  EXPECT_EQ(at(list, "/result/asyncHandles/1/data/name"), "\"xBulkVolumeScriptFailure\"");
  EXPECT_EQ(at(list, "/result/asyncHandles/2/asyncResultID"), std::to_string(running));
  EXPECT_EQ(at(list, "/result/asyncHandles/2/completed"), "false");
  EXPECT_EQ(at(list, "/result/asyncHandles/2/resultType"), "\"DriveAdd\"");

  // The filter.
  std::string bulk = call(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["BulkVolume"]},"id":1})");
  ASSERT_EQ(json_array_size(bulk, "/result/asyncHandles"), 1) << bulk;
  EXPECT_EQ(at(bulk, "/result/asyncHandles/0/asyncResultID"), std::to_string(failed));
  std::string two =
      call(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["DriveAdd","Clone"]},"id":1})");
  EXPECT_EQ(json_array_size(two, "/result/asyncHandles"), 2) << two;
  std::string none = call(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["DriveRemoval"]},"id":1})");
  EXPECT_EQ(json_array_size(none, "/result/asyncHandles"), 0) << none;

  // Listing never purges: the complete results are still there, to list and to get.
  EXPECT_EQ(json_array_size(call(R"({"method":"ListAsyncResults","id":2})"), "/result/asyncHandles"), 3);
  EXPECT_EQ(at(call(get_async_body(done, false)), "/result/status"), "\"complete\"");
  EXPECT_EQ(at(call(get_async_body(failed, false)), "/result/status"), "\"complete\"");
  EXPECT_EQ(json_array_size(call(R"({"method":"ListAsyncResults","id":2})"), "/result/asyncHandles"), 1);
}

TEST_F(Conformance, GetAPIListsSupportedVersions) {
  start();
  std::string a = call(R"({"method":"GetAPI","id":1})");
  EXPECT_EQ(at(a, "/result/currentVersion"), "\"12.5\"");
  std::string versions = at(a, "/result/supportedVersions");
  EXPECT_NE(versions.find("\"12.5\""), std::string::npos) << a;
  EXPECT_NE(versions.find("\"1.0\""), std::string::npos) << a;
  EXPECT_EQ(versions.find("\"12.7\""), std::string::npos) << a;
  // An older supported version is served too.
  reply r = conn().post(R"({"method":"GetAPI","id":1})", "/json-rpc/9.6");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(at(r.body, "/result/currentVersion"), "\"12.5\"");
}

struct start_case {
  std::string request;
  std::string start_re;     // regex of the start answer's result object
  std::string result_type;
  std::string complete_re;  // regex of the complete result member
};

TEST_F(Conformance, JobStartingMethodsReturnTheirShapesAndComplete) {
  auto cfg = base_config();
  cfg.job_duration = fixed(0ms);
  start(cfg);
  const std::vector<start_case> cases{
      {R"({"method":"CloneVolume","params":{"volumeID":5,"name":"a"},"id":1})",
       R"(\{"asyncHandle":\d+,"cloneID":\d+,"curve":\{[^}]+\},"volume":\{.*\},"volumeID":\d+\})", "Clone",
       R"(\{"cloneID":\d+,"message":"Clone complete\.","volumeID":\d+\})"},
      {R"({"method":"CloneMultipleVolumes","params":{"volumes":[{"volumeID":3},{"volumeID":4,"name":"x"}]},"id":1})",
       R"(\{"asyncHandle":\d+,"groupCloneID":\d+,"members":\[\{"srcVolumeID":3,"volumeID":\d+\},\{"srcVolumeID":4,"volumeID":\d+\}\]\})",
       "Clone",
       R"(\{"groupCloneID":\d+,"members":\[\{"srcVolumeID":3,"volumeID":\d+\},\{"srcVolumeID":4,"volumeID":\d+\}\],"message":"Clone complete\."\})"},
      {R"({"method":"CopyVolume","params":{"volumeID":5,"dstVolumeID":77},"id":1})",
       R"(\{"asyncHandle":\d+,"cloneID":\d+\})", "Clone",
       R"(\{"cloneID":\d+,"message":"Clone complete\.","volumeID":77\})"},
      {R"({"method":"StartBulkVolumeRead","params":{"volumeID":34,"format":"native"},"id":1})",
       R"(\{"asyncHandle":\d+,"key":"[0-9a-f]{32}","url":"https://[^"]+/"\})", "BulkVolume",
       R"(\{"bvID":\d+,"message":"Bulk volume job succeeded","volumeID":34\})"},
      {R"({"method":"StartBulkVolumeWrite","params":{"volumeID":35,"format":"uncompressed"},"id":1})",
       R"(\{"asyncHandle":\d+,"key":"[0-9a-f]{32}","url":"https://[^"]+/"\})", "BulkVolume",
       R"(\{"bvID":\d+,"message":"Bulk volume job succeeded","volumeID":35\})"},
      {R"({"method":"AddDrives","params":{"drives":[{"driveID":1,"type":"automatic"},{"driveID":2}]},"id":1})",
       R"(\{"asyncHandle":\d+\})", "DriveAdd", R"(\{"message":"Drives added\.","numDrives":2\})"},
      {R"({"method":"RemoveDrives","params":{"drives":[1,2,3]},"id":1})", R"(\{"asyncHandle":\d+\})",
       "DriveRemoval", R"(\{"message":"Drives removed\.","numDrives":3\})"},
  };
  std::set<std::uint64_t> handles;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.request);
    std::string started = call(c.request);
    ASSERT_TRUE(matches(at(started, "/result"), c.start_re)) << started;
    const auto h = handle_of(started);
    EXPECT_TRUE(handles.insert(h).second) << "a fresh handle each time";
    std::string done = call(get_async_body(h, true));
    EXPECT_EQ(at(done, "/result/status"), "\"complete\"") << done;
    EXPECT_EQ(at(done, "/result/resultType"), "\"" + c.result_type + "\"");
    EXPECT_TRUE(matches(at(done, "/result/result"), c.complete_re)) << done;
    auto rec = srv().record(h);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->result_type, c.result_type);
    EXPECT_EQ(rec->result_json, at(done, "/result/result"));
    EXPECT_EQ(rec->complete_answers, 1u);
  }
  auto st = srv().snapshot();
  EXPECT_EQ(st.requests_by_method["CloneVolume"], 1u);
  EXPECT_EQ(st.requests_by_method["RemoveDrives"], 1u);
  EXPECT_EQ(st.requests_by_method["GetAsyncResult"], cases.size());
}

TEST_F(Conformance, RecordMatchesWhatWasSentByteForByte) {
  auto cfg = base_config();
  cfg.fail_ratio = 0.5;
  cfg.job_duration = fixed(0ms);
  cfg.seed = 7;
  start(cfg);
  int failed = 0, succeeded = 0;
  for (int i = 0; i < 20; ++i) {
    const auto h = handle_of(call(R"({"method":"CloneVolume","params":{"volumeID":5,"name":"a"},"id":1})"));
    std::string done = call(get_async_body(h, false));
    auto rec = srv().record(h);
    ASSERT_TRUE(rec);
    EXPECT_TRUE(rec->purged);
    EXPECT_EQ(rec->complete_answers, 1u);
    // The raw member, exactly as it appears in the answer.
    const std::string member = rec->failed ? "\"error\":" : "\"result\":";
    EXPECT_NE(done.find(member + rec->result_json), std::string::npos) << done;
    (rec->failed ? failed : succeeded)++;
  }
  EXPECT_GT(failed, 0);
  EXPECT_GT(succeeded, 0);
}

TEST_F(Conformance, CertificateVerifiesAgainstItselfWithSubjectAltNames) {
  start();
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto o = opts();
    o.ca_pem = srv().certificate_pem();
    o.host = host;
    client c(o);
    EXPECT_FALSE(c.connect()) << host;
    EXPECT_EQ(c.peer_sha256(), srv().certificate_sha256());
    EXPECT_EQ(c.post(R"({"method":"GetAPI","id":1})").status, 200);
  }
  auto o = opts();
  o.ca_pem = srv().certificate_pem();
  o.host = "elsewhere.example";
  client c(o);
  EXPECT_TRUE(c.connect()) << "a name outside the subjectAltName must not verify";
  EXPECT_EQ(srv().certificate_sha256().size(), 64u);
  EXPECT_TRUE(matches(srv().url(), R"(https://127\.0\.0\.1:\d+/json-rpc/12\.5)")) << srv().url();
}

TEST_F(Conformance, KeepAliveServesManyRequestsOnOneConnection) {
  const auto h = started_with_job("Clone", 60s, false);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(at(call(get_async_body(h, true)), "/result/status"), "\"running\"");
  auto st = srv().snapshot();
  EXPECT_EQ(st.connections_accepted, 1u);
  EXPECT_EQ(st.connections_open, 1u);
  EXPECT_EQ(st.requests_by_method["GetAsyncResult"], 200u);
}

TEST_F(Conformance, Tls12KeepAlive) {
  start();
  auto o = opts();
  o.tls12_only = true;
  client c(o);
  ASSERT_FALSE(c.connect());
  EXPECT_EQ(c.protocol(), "TLSv1.2");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.post(R"({"method":"GetAPI","id":1})").status, 200);
  EXPECT_EQ(srv().snapshot().connections_accepted, 1u);
}

TEST_F(Conformance, PipelinedRequestsAreAnsweredInOrder) {
  const auto h = started_with_job("Clone", 60s, false);
  auto request = [&](const std::string& body) {
    return "POST /json-rpc/12.5 HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic_auth("admin", "s3cret") +
           "\r\nContent-Type: application/json-rpc\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  std::string all;
  for (int i = 1; i <= 5; ++i) all += request(get_async_body(h, true, std::to_string(i)));
  client c(opts());
  reply first = c.raw(all);
  ASSERT_TRUE(first.ok()) << first.ec.message();
  EXPECT_EQ(at(first.body, "/id"), "1");
  for (int i = 2; i <= 5; ++i) {
    reply r = c.read_next();
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(at(r.body, "/id"), std::to_string(i));
    EXPECT_EQ(at(r.body, "/result/status"), "\"running\"");
  }
}

TEST_F(Conformance, ChunkedRequestBodiesAreAccepted) {
  const auto h = started_with_job("Clone", 0ms, false);
  reply r = conn().post(get_async_body(h, true), "/json-rpc/12.5", std::nullopt, "POST", true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(at(r.body, "/result/status"), "\"complete\"") << r.body;
}

TEST_F(Conformance, ConcurrentClientsAndThreadSafeInspection) {
  auto cfg = base_config();
  cfg.auto_jobs = true;
  cfg.job_duration = fixed(50ms);
  start(cfg);
  std::atomic<unsigned> completes{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      client c(opts());
      for (std::uint64_t h = 1 + t * 1000; h < 1 + t * 1000 + 20; ++h) {
        for (;;) {
          reply r = c.post(get_async_body(h, false));
          if (!r.ok() || r.status != 200) return;
          if (at(r.body, "/result/status") == "\"complete\"") {
            ++completes;
            break;
          }
        }
      }
    });
  for (int i = 0; i < 50; ++i) {  // inspect while serving
    srv().snapshot();
    srv().record(1);
    srv().create_job("Clone", 1s, false);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(completes.load(), 80u);
}

}  // namespace
}  // namespace simtest
