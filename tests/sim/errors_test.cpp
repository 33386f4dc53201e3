// Every error case answers as documented and the server keeps serving.
#include "sim_fixture.hpp"

#include <random>

namespace simtest {
namespace {

class Errors : public sim_test {
 protected:
  // The server still answers, on a fresh connection.
  void expect_still_serving() {
    client c(opts());
    reply r = c.post(R"({"method":"GetAPI","id":1})");
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(at(r.body, "/result/currentVersion"), "\"12.5\"");
  }
  std::string error_name(const std::string& a) { return at(a, "/error/name"); }
};

TEST_F(Errors, MissingCredentialsAre401AndTheConnectionLivesOn) {
  start();
  reply r = conn().post(R"({"method":"GetAPI","id":1})", "/json-rpc/12.5", std::string());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.header("www-authenticate").find("Basic"), std::string::npos);
  // Same connection, now with credentials.
  reply ok = conn().post(R"({"method":"GetAPI","id":1})");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(srv().snapshot().connections_accepted, 1u);
  EXPECT_EQ(srv().snapshot().http_401, 1u);
}

TEST_F(Errors, WrongCredentialsAre401) {
  start();
  for (std::string auth : {basic_auth("admin", "wrong"), basic_auth("root", "s3cret"), basic_auth("admin", ""),
                           std::string("Bearer abc"), std::string("Basic"), std::string("Basic !!!"),
                           basic_auth("admin", "s3cret") + "x"}) {
    reply r = conn().post(R"({"method":"GetAPI","id":1})", "/json-rpc/12.5", auth);
    ASSERT_TRUE(r.ok()) << auth;
    EXPECT_EQ(r.status, 401) << auth;
  }
  // The scheme is case-insensitive.
  std::string lower = basic_auth("admin", "s3cret");
  lower.replace(0, 5, "basic");
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":1})", "/json-rpc/12.5", lower).status, 200);
  EXPECT_EQ(srv().snapshot().http_401, 7u);
  expect_still_serving();
}

TEST_F(Errors, UnknownMethod) {
  start();
  std::string a = call(R"({"method":"NoSuchMethod","params":{},"id":"q"})");
  EXPECT_EQ(a, R"({"error":{"code":500,"message":"Unknown method 'NoSuchMethod'","name":"xUnknownAPIMethod"},"id":"q"})");
  // A name that needs escaping comes back as valid JSON.
  std::string b = call(R"({"method":"Bad\"Name\n","id":2})");
  EXPECT_TRUE(valid_json(b)) << b;
  EXPECT_EQ(error_name(b), "\"xUnknownAPIMethod\"");
  EXPECT_EQ(srv().snapshot().requests_by_method["NoSuchMethod"], 1u);
  expect_still_serving();
}

TEST_F(Errors, MalformedJsonIsAJsonRpcError) {
  start();
  for (std::string body : {std::string(""), std::string("not json"), std::string("{"), std::string("[1,2]"),
                           std::string("\"str\""), std::string(R"({"method":"GetAsyncResult","params":{"asyncHandle":1})"),
                           std::string(R"({"method":"GetAPI","id":1} trailing)"), std::string("{\"method\":\x01}"),
                           std::string("\xff\xfe{}"), std::string(R"({"method":"GetAPI","id":1,})")}) {
    SCOPED_TRACE(body);
    reply r = conn().post(body);
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(valid_json(r.body)) << r.body;
    EXPECT_EQ(at(r.body, "/error/code"), "500") << r.body;
    EXPECT_EQ(error_name(r.body), "\"xInvalidRequest\"") << r.body;
    EXPECT_EQ(at(r.body, "/id"), "null");
  }
  // An empty body right after a good request is not mistaken for it.
  EXPECT_EQ(at(call(R"({"method":"GetAPI","id":1})"), "/result/currentVersion"), "\"12.5\"");
  EXPECT_EQ(error_name(call("")), "\"xInvalidRequest\"");
  // The connection survived all of them.
  EXPECT_EQ(srv().snapshot().connections_accepted, 1u);
  expect_still_serving();
}

TEST_F(Errors, BadEnvelope) {
  start();
  EXPECT_EQ(error_name(call(R"({"params":{},"id":1})")), "\"xInvalidRequest\"");
  EXPECT_EQ(error_name(call(R"({"method":5,"id":1})")), "\"xInvalidRequest\"");
  EXPECT_EQ(error_name(call(R"({"method":"GetAPI","id":{"a":1}})")), "\"xInvalidRequest\"");
  EXPECT_EQ(error_name(call(R"({"method":"GetAsyncResult","params":[389],"id":1})")), "\"xInvalidRequest\"");
  // Positional params are refused; the id still comes back.
  EXPECT_EQ(at(call(R"({"method":"GetAsyncResult","params":[389],"id":3})"), "/id"), "3");
  expect_still_serving();
}

TEST_F(Errors, MissingParameters) {
  start();
  for (std::string body : std::vector<std::string>{R"({"method":"GetAsyncResult","id":1})", R"({"method":"GetAsyncResult","params":{},"id":1})",
                           R"({"method":"GetAsyncResult","params":null,"id":1})",
                           R"({"method":"GetAsyncResult","params":{"keepResult":true},"id":1})"}) {
    std::string a = call(body);
    EXPECT_EQ(error_name(a), "\"xInvalidParameter\"") << body << " -> " << a;
    EXPECT_NE(a.find("asyncHandle"), std::string::npos) << a;
  }
  EXPECT_EQ(error_name(call(R"({"method":"CloneVolume","params":{"name":"x"},"id":1})")), "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"CloneVolume","params":{"volumeID":1},"id":1})")), "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"CopyVolume","params":{"volumeID":1},"id":1})")), "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"StartBulkVolumeRead","params":{"volumeID":1},"id":1})")),
            "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"AddDrives","params":{"drives":[]},"id":1})")), "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"RemoveDrives","id":1})")), "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"CloneMultipleVolumes","params":{"volumes":[]},"id":1})")),
            "\"xInvalidParameter\"");
  EXPECT_EQ(srv().snapshot().live_jobs, 0u) << "no job was started by a refused request";
  expect_still_serving();
}

TEST_F(Errors, MistypedParameters) {
  start();
  const auto h = srv().create_job("Clone", 0ms, false);
  const std::string hs = std::to_string(h);
  for (std::string params : std::vector<std::string>
       {R"({"asyncHandle":"1.5"})", R"({"asyncHandle":"x1"})", R"({"asyncHandle":""})", R"({"asyncHandle":1.5})", R"({"asyncHandle":true})",
        R"({"asyncHandle":null})", R"({"asyncHandle":[1]})", R"({"asyncHandle":99999999999999999999})",
        R"({"asyncHandle":)" + hs + R"(,"keepResult":"yes"})", R"({"asyncHandle":)" + hs + R"(,"keepResult":1})"}) {
    std::string a = call(R"({"method":"GetAsyncResult","params":)" + params + R"(,"id":1})");
    EXPECT_EQ(error_name(a), "\"xInvalidParameter\"") << params << " -> " << a;
  }
  // None of those purged the complete result.
  EXPECT_EQ(at(call(get_async_body(h, false)), "/result/status"), "\"complete\"");
  EXPECT_EQ(error_name(call(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["Nope"]},"id":1})")),
            "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":"Clone"},"id":1})")),
            "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"CloneVolume","params":{"volumeID":"5a","name":"x"},"id":1})")),
            "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"RemoveDrives","params":{"drives":["a"]},"id":1})")),
            "\"xInvalidParameter\"");
  EXPECT_EQ(error_name(call(R"({"method":"CloneVolume","params":{"volumeID":-3,"name":"x"},"id":1})")),
            "\"xVolumeIDDoesNotExist\"");
  // Zero and negative handles are simply unknown.
  EXPECT_EQ(call(get_async_body(0)), does_not_exist(0));
  EXPECT_EQ(call(R"({"method":"GetAsyncResult","params":{"asyncHandle":-4},"id":1})"), does_not_exist(-4));
  expect_still_serving();
}

TEST_F(Errors, OversizedBodyIs413AndTheServerKeepsServing) {
  auto cfg = base_config();
  cfg.body_limit = 1024;
  start(cfg);
  std::string big = R"({"method":"GetAPI","id":1,"pad":")" + std::string(4000, 'x') + "\"}";
  reply r = conn().post(big);
  ASSERT_TRUE(r.ok()) << r.ec.message();
  EXPECT_EQ(r.status, 413);
  EXPECT_FALSE(r.keep_alive);
  // Chunked, too.
  client c2(opts());
  reply r2 = c2.post(big, "/json-rpc/12.5", std::nullopt, "POST", true);
  ASSERT_TRUE(r2.ok()) << r2.ec.message();
  EXPECT_EQ(r2.status, 413);
  // Exactly at the limit is fine.
  std::string fits = R"({"method":"GetAPI","id":1,"pad":")";
  fits += std::string(1024 - fits.size() - 2, 'y') + "\"}";
  ASSERT_EQ(fits.size(), 1024u);
  client c3(opts());
  EXPECT_EQ(c3.post(fits).status, 200);
  expect_still_serving();
}

TEST_F(Errors, WrongVersionPathAndVerb) {
  start();
  // Unknown versions: HTTP 404 with an HTML page (realism_test.cpp checks the page).
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":4})", "/json-rpc/99.0").status, 404);
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":4})", "/json-rpc/12.6").status, 404);
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":4})", "/").status, 404);
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":4})", "/json-rpc/").status, 404);
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":4})", "/api/json-rpc/12.5").status, 404);
  reply g = conn().post("", "/json-rpc/12.5", std::nullopt, "PUT");
  EXPECT_EQ(g.status, 405);
  EXPECT_EQ(g.header("allow"), "GET, POST");
  // GET without ?method= is a request without a method.
  EXPECT_EQ(error_name(conn().post("", "/json-rpc/12.5", std::nullopt, "GET").body), "\"xInvalidRequest\"");
  // The query string is ignored; the connection served all of these.
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":4})", "/json-rpc/12.5?x=1").status, 200);
  EXPECT_EQ(srv().snapshot().connections_accepted, 1u);
  expect_still_serving();
}

TEST_F(Errors, BrokenHttpIs400AndClosed) {
  start();
  client c(opts());
  reply r = c.raw("THIS IS NOT HTTP\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.ec.message();
  EXPECT_EQ(r.status, 400);
  client c2(opts());
  reply r2 = c2.raw("POST /json-rpc/12.5 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_EQ(r2.status, 400);
  expect_still_serving();
}

TEST_F(Errors, RandomMutationsNeverCrashAndAlwaysAnswerJson) {
  auto cfg = base_config();
  cfg.auto_jobs = true;
  cfg.job_duration = fixed(0ms);
  start(cfg);
  const std::vector<std::string> seeds{
      R"({"method": "GetAsyncResult", "params": {"asyncHandle": 389, "keepResult": true}, "id": 1})",
      R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["Clone","BulkVolume"]},"id":"s"})",
      R"({"method":"CloneMultipleVolumes","params":{"volumes":[{"volumeID":3},{"volumeID":4}]},"id":null})",
      R"({"method":"AddDrives","params":{"drives":[{"driveID":1,"type":"automatic"}]},"id":2})"};
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,0123456789-.eEtruefalsn \\u\x01\xc3\xa9";
  int answered = 0;
  for (int i = 0; i < 400; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      std::size_t pos = rng() % body.size();
      switch (rng() % 3) {
        case 0: body[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: body.erase(pos, 1 + rng() % 3); break;
        default: body.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    reply r = conn().post(body);
    ASSERT_TRUE(r.ok()) << body << ": " << r.ec.message();
    ASSERT_EQ(r.status, 200) << body;
    // Either a result or an error, always JSON (unless the id token itself was
    // mangled into something we echo verbatim, which ondemand parsing accepts).
    if (valid_json(r.body)) {
      EXPECT_TRUE(json_at(r.body, "/result") || json_at(r.body, "/error")) << body << " -> " << r.body;
      ++answered;
    }
  }
  EXPECT_GT(answered, 390);
  expect_still_serving();
}

}  // namespace
}  // namespace simtest
