// pollster::params: values cannot break out of their member.
#include <gtest/gtest.h>

#include "pollster/json.hpp"
#include "pollster/params.hpp"
#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"

namespace pollster {
namespace {

TEST(Params, BuildsAnObjectWithEachKindOfValue) {
  const std::string p = params()
                            .add("volumeID", 5)
                            .add("name", "clone-1")
                            .add("size", std::uint64_t{1} << 40)
                            .add("ratio", 0.5)
                            .add("enable", true)
                            .add("asyncResultTypes", {"Clone", "BulkVolume"})
                            .add_null("attributes")
                            .add_json("qos", params().add("minIOPS", 50).str());
  EXPECT_EQ(p, R"({"volumeID":5,"name":"clone-1","size":1099511627776,"ratio":0.5,)"
               R"("enable":true,"asyncResultTypes":["Clone","BulkVolume"],"attributes":null,)"
               R"("qos":{"minIOPS":50}})");
  EXPECT_EQ(params().str(), "{}");
}

TEST(Params, HostileTextStaysInsideItsString) {
  // What a hand-joined string would have turned into a second member.
  const std::string evil = "x\", \"volumeID\": 999, \"y\": \"\\\n\t\x01";
  const std::string p = params().add("name", evil).add("volumeID", 1);
  detail::padded_buffer buf;
  const std::string doc = R"({"id":1,"result":)" + p + "}";
  buf.append(doc.data(), doc.size());
  detail::answer_parser parser;
  detail::envelope_view env;
  ASSERT_FALSE(parser.parse_envelope(buf.data(), buf.size(), buf.capacity(), env)) << p;
  std::uint64_t id = 0;
  ASSERT_FALSE(parser.find_uint(env.result_raw, buf.data() + buf.capacity(), "volumeID", id));
  EXPECT_EQ(id, 1u) << "the name's text became a member: " << p;
  EXPECT_NE(p.find("\\u0001"), std::string::npos);
}

TEST(Params, NonFiniteNumbersAreNull) {
  EXPECT_EQ(params().add("x", 1.0 / 0.0).str(), R"({"x":null})");
}

TEST(Json, ReadsTheMembersOfAResultWithoutAnotherLibrary) {
  const std::string r = R"({"asyncHandle": 389, "cloneID": 25, "key": "a\"b", "ok": true,)"
                        R"( "pct": 8.5, "volume": {"volumeID": 47, "attributes": null} })";
  EXPECT_EQ(json::get_uint(r, "asyncHandle"), 389u);
  EXPECT_EQ(json::get_int(r, "cloneID"), 25);
  EXPECT_EQ(json::get_string(r, "key"), "a\"b");
  EXPECT_EQ(json::get_bool(r, "ok"), true);
  EXPECT_EQ(json::get_double(r, "pct"), 8.5);
  EXPECT_EQ(json::get_raw(r, "volume"), R"({"volumeID":47,"attributes":null})");
  EXPECT_FALSE(json::get_uint(r, "key")) << "a string is not a number";
  EXPECT_FALSE(json::get_uint(r, "missing"));
  EXPECT_FALSE(json::get_uint("[1,2]", "x")) << "not an object";
  EXPECT_FALSE(json::get_uint("{\"x\": ", "x")) << "truncated";
}

}  // namespace
}  // namespace pollster
