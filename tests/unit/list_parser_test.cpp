// ListAsyncResults answers read in place: element-api.md's vector verbatim,
// entries offered only to who wants them, a wanted entry validated whole,
// unreadable entries left to the per-handle confirmation.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pollster/error.hpp"
#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"

using pollster::error;
using namespace pollster::detail;  // the parser, its sink and its views, all under test

namespace {

constexpr std::string_view kVendorList =
    R"({"id": 1, "result": {"asyncHandles": [{"asyncResultID": 47, "completed": true, "createTime": "2016-01-01T22:29:19Z", "data": {"cloneID": 26, "message": "Clone complete.", "volumeID": 48}, "lastUpdateTime": "2016-01-01T22:45:43Z", "resultType": "Clone", "success": true}]}})";

struct seen_entry {
  std::uint64_t id;
  bool completed, success;
  std::string data, details, type, created, updated, error_name, error_message, raw;
};

// A sink that wants the handles in `wanted`, and records what it was given.
struct recorder {
  std::set<std::uint64_t> wanted;
  std::vector<std::uint64_t> offered;
  std::vector<seen_entry> entries;
  list_sink sink() {
    return {this,
            [](void* c, std::uint64_t id, bool) {
              auto& r = *static_cast<recorder*>(c);
              r.offered.push_back(id);
              return r.wanted.count(id) > 0;
            },
            [](void* c, const list_entry_view& e) {
              static_cast<recorder*>(c)->entries.push_back(
                  {e.id, e.completed, e.success, std::string(e.data_raw), std::string(e.details_raw),
                   std::string(e.result_type), std::string(e.create_time),
                   std::string(e.last_update_time), std::string(e.error_name),
                   std::string(e.error_message), std::string(e.raw)});
            }};
  }
};

struct parsed {
  std::error_code ec;
  envelope_view env;
  list_summary summary;
};

parsed parse(answer_parser& p, padded_buffer& buf, std::string_view text, recorder& r) {
  buf.clear();
  buf.append(text.data(), text.size());
  parsed out;
  const list_sink s = r.sink();
  out.ec = p.parse_list_async_results(buf.data(), buf.size(), buf.capacity(), out.env, s,
                                      out.summary);
  return out;
}

std::string entry(std::uint64_t id, bool completed, bool success, std::string_view data) {
  return R"({"asyncResultID":)" + std::to_string(id) + R"(,"completed":)" +
         (completed ? "true" : "false") + R"(,"createTime":"2016-01-01T22:29:19Z","data":)" +
         std::string(data) + R"(,"lastUpdateTime":"2016-01-01T22:45:43Z","resultType":"Clone","success":)" +
         (success ? "true" : "false") + "}";
}

std::string list_of(const std::vector<std::string>& entries, std::string_view id = "1") {
  std::string s = R"({"id":)" + std::string(id) + R"(,"result":{"asyncHandles":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) s += (i ? "," : "") + entries[i];
  return s + "]}}";
}

TEST(ListParser, VendorVectorVerbatim) {
  answer_parser p;
  padded_buffer buf;
  recorder r{{47}};
  auto out = parse(p, buf, kVendorList, r);
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_TRUE(out.env.has_id);
  EXPECT_EQ(out.env.id, 1u);
  EXPECT_EQ(out.summary.entries, 1u);
  ASSERT_EQ(r.entries.size(), 1u);
  const auto& e = r.entries[0];
  EXPECT_EQ(e.id, 47u);
  EXPECT_TRUE(e.completed);
  EXPECT_TRUE(e.success);
  EXPECT_EQ(e.data, R"({"cloneID": 26, "message": "Clone complete.", "volumeID": 48})");
  EXPECT_EQ(e.type, "Clone");
  EXPECT_EQ(e.created, "2016-01-01T22:29:19Z");
  EXPECT_EQ(e.updated, "2016-01-01T22:45:43Z");
  EXPECT_EQ(e.raw.front(), '{');
  EXPECT_EQ(e.raw.back(), '}');
}

TEST(ListParser, OnlyWantedEntriesAreHandedOver) {
  answer_parser p;
  padded_buffer buf;
  recorder r{{2, 4}};
  std::vector<std::string> es;
  for (std::uint64_t i = 1; i <= 5; ++i) es.push_back(entry(i, i % 2 == 0, true, R"({"n":1})"));
  auto out = parse(p, buf, list_of(es), r);
  ASSERT_FALSE(out.ec);
  EXPECT_EQ(out.summary.entries, 5u);
  EXPECT_EQ(r.offered, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].id, 2u);
  EXPECT_EQ(r.entries[1].id, 4u);
}

TEST(ListParser, TaskErrorNameAndMessageAreRead) {
  answer_parser p;
  padded_buffer buf;
  recorder r{{9}};
  auto out = parse(p, buf,
                   list_of({entry(9, true, false,
                                  R"({"bvID":1,"message":"Bulk volume job failed","name":"xBulkVolumeScriptFailure"})")}),
                   r);
  ASSERT_FALSE(out.ec);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_FALSE(r.entries[0].success);
  EXPECT_EQ(r.entries[0].error_name, "xBulkVolumeScriptFailure");
  EXPECT_EQ(r.entries[0].error_message, "Bulk volume job failed");
}

TEST(ListParser, KeysInAnyOrderAndIndentedAnswersRead) {
  answer_parser p;
  padded_buffer buf;
  recorder r{{5}};
  const std::string pretty = R"({
  "result": {
    "asyncHandles": [
      {
        "success": true,
        "data": { "volumeID": 3 },
        "resultType": "Clone",
        "completed": true,
        "asyncResultID": 5
      }
    ]
  },
  "id": 77
})";
  auto out = parse(p, buf, pretty, r);
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_EQ(out.env.id, 77u);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].data, R"({ "volumeID": 3 })");
}

TEST(ListParser, RunningEntryHandsOverItsDetails) {
  answer_parser p;
  padded_buffer buf;
  recorder r{{3}};
  auto out = parse(p, buf,
                   list_of({R"({"asyncResultID":3,"completed":false,"data":{},"details":{"percentComplete":42},"resultType":"Clone"})"}),
                   r);
  ASSERT_FALSE(out.ec);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_FALSE(r.entries[0].completed);
  EXPECT_EQ(r.entries[0].details, R"({"percentComplete":42})");
  EXPECT_EQ(p.percent_complete(buf.view().substr(buf.view().find(R"({"percentComplete")"), 22),
                               buf.data() + buf.capacity()),
            42);
}

TEST(ListParser, UnreadableEntriesAreNobodys) {
  // No integer id, no boolean completed, completed without a boolean success:
  // never offered (the wait then finds itself absent and is confirmed).
  answer_parser p;
  padded_buffer buf;
  recorder r{{1, 2, 3, 4}};
  auto out = parse(p, buf,
                   list_of({R"({"asyncResultID":"1","completed":true,"success":true,"data":{}})",
                            R"({"asyncResultID":2,"completed":"yes","success":true,"data":{}})",
                            R"({"asyncResultID":3,"completed":true,"data":{}})",
                            entry(4, true, true, "{}")}),
                   r);
  ASSERT_FALSE(out.ec);
  EXPECT_EQ(out.summary.entries, 4u);
  EXPECT_EQ(r.offered, (std::vector<std::uint64_t>{4}));
}

TEST(ListParser, MethodErrorIsAnEnvelopeError) {
  answer_parser p;
  padded_buffer buf;
  recorder r;
  auto out = parse(p, buf,
                   R"({"error":{"code":500,"message":"Unknown method","name":"xUnknownMethod"},"id":4})", r);
  ASSERT_FALSE(out.ec);
  EXPECT_TRUE(out.env.is_error);
  EXPECT_EQ(out.env.error.name, "xUnknownMethod");
  EXPECT_EQ(out.env.id, 4u);
}

TEST(ListParser, WrongShapesAreRefused) {
  answer_parser p;
  padded_buffer buf;
  recorder r;
  EXPECT_EQ(parse(p, buf, R"({"id":1,"result":{}})", r).ec, error::unexpected_answer);
  EXPECT_EQ(parse(p, buf, R"({"id":1,"result":{"asyncHandles":{}}})", r).ec,
            error::unexpected_answer);
  EXPECT_EQ(parse(p, buf, R"({"id":1,"result":{"asyncHandles":[]}} x)", r).ec,
            error::malformed_json);
  EXPECT_EQ(parse(p, buf, R"({"id":1,"result":{"asyncHandles":[)", r).ec, error::malformed_json);
}

TEST(ListParser, ManyEntriesParseWithoutGrowingAfterTheFirst) {
  // Reused on a list of 10,000 entries: the same verdicts, answer after answer.
  answer_parser p;
  padded_buffer buf;
  std::vector<std::string> es;
  for (std::uint64_t i = 1; i <= 10000; ++i) es.push_back(entry(i, i % 10 == 0, i % 20 != 0, R"({"volumeID":7})"));
  const std::string text = list_of(es);
  for (int round = 0; round < 3; ++round) {
    recorder r;
    for (std::uint64_t i = 1; i <= 10000; i += 2) r.wanted.insert(i);
    auto out = parse(p, buf, text, r);
    ASSERT_FALSE(out.ec);
    EXPECT_EQ(out.summary.entries, 10000u);
    EXPECT_EQ(r.entries.size(), 5000u);
  }
}

}  // namespace

namespace {

TEST(ListParser, AnEntryWithAMemberTwiceIsNobodys) {
  answer_parser p;
  padded_buffer buf;
  recorder r{{5, 6}};
  auto out = parse(p, buf,
                   list_of({R"({"asyncResultID":5,"completed":false,"completed":true,"success":true,"data":{}})",
                            R"({"asyncResultID":6,"completed":true,"success":true,"data":{"a":1},"data":{"a":2}})"}),
                   r);
  ASSERT_FALSE(out.ec);
  EXPECT_TRUE(r.offered.empty()) << "which `completed`, which `data` is the server's? Not guessed";
}

TEST(ListParser, AWantedEntryThatDoesNotValidateIsHandedOverWithoutData) {
  // Not the whole list's failure: the completed entry comes without data
  // (its wait is confirmed per handle), the running one not at all, and the
  // other entries are read.
  answer_parser p;
  padded_buffer buf;
  recorder r{{1, 2, 3}};
  auto out = parse(p, buf,
                   list_of({entry(1, true, true, R"({"n":"\x"})"),
                            R"({"asyncResultID":2,"completed":false,"data":{},"details":{"p":"\q"}})",
                            entry(3, true, true, R"({"n":1})")}),
                   r);
  ASSERT_FALSE(out.ec) << out.ec.message();
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].id, 1u);
  EXPECT_TRUE(r.entries[0].data.empty());
  EXPECT_EQ(r.entries[1].id, 3u);
  EXPECT_EQ(r.entries[1].data, R"({"n":1})");
}

TEST(ListParser, ATaskErrorsNameSurvivesTheEntrysDetails) {
  // details are checked on the same parser as data: the error's unescaped
  // name and message must still be there when the entry is handed over.
  answer_parser p;
  padded_buffer buf;
  recorder r{{4}};
  std::string long_details = R"({"stage":")" + std::string(5000, 'x') + R"(\u0041","k":"\n"})";
  auto out = parse(p, buf,
                   list_of({R"({"asyncResultID":4,"completed":true,"success":false,"data":{"message":"disk \"7\" failed","name":"xBulkVolumeScriptFailure"},"details":)" +
                            long_details + "}"}),
                   r);
  ASSERT_FALSE(out.ec) << out.ec.message();
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].error_name, "xBulkVolumeScriptFailure");
  EXPECT_EQ(r.entries[0].error_message, "disk \"7\" failed");
}

}  // namespace

namespace {

TEST(ListParser, EscapedKeysAndStringsReadAsTheirUnescapedSelves) {
  // Keys are told apart by their raw bytes; one with an escape is unescaped
  // first, so "asyncResult\u0049D" is still the id and "c\u006fmpleted" still
  // completed. Strings are handed over as sent (escapes left), validated
  // only for a wanted entry: an invalid escape in a wanted entry's string
  // makes it unreadable (confirmed per handle), in anybody else's it is not
  // the list's failure.
  answer_parser p;
  padded_buffer buf;
  recorder r{{5, 6}};
  auto out = parse(
      p, buf,
      list_of({R"({"asyncResult\u0049D":5,"c\u006fmpleted":true,"success":true,"data":{"a":1},"resultType":"Cl\u006fne","createTime":"x"})",
               R"({"asyncResultID":6,"completed":true,"success":true,"data":{},"resultType":"bad \q escape"})",
               R"({"asyncResultID":7,"completed":true,"success":true,"data":{},"resultType":"bad \q escape"})"}),
      r);
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_EQ(out.summary.entries, 3u);
  EXPECT_EQ(r.offered, (std::vector<std::uint64_t>{5, 6, 7}));
  ASSERT_EQ(r.entries.size(), 1u) << "6 has an invalid escape: unreadable, not handed over";
  EXPECT_EQ(r.entries[0].id, 5u);
  EXPECT_TRUE(r.entries[0].completed);
  EXPECT_EQ(r.entries[0].type, R"(Cl\u006fne)");
  EXPECT_EQ(r.entries[0].created, "x");
  EXPECT_EQ(r.entries[0].data, R"({"a":1})");
}

}  // namespace
