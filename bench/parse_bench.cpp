// Parsing each element-api.md test vector: the engine's answer_parser
// (simdjson on-demand, in place, views into the buffer) against a simdjson DOM
// parse of the same bytes. Both are checked against the vector's expected
// fields on every iteration's result (cheap comparisons of views).
//
// This translation unit includes <simdjson.h>: it is listed in
// pollster_simd_tu() so it gets POLLSTER_SIMD_FLAGS like the engine's parser.
#include <benchmark/benchmark.h>

#include <simdjson.h>

#include <string>

#include "pollster/engine.hpp"
#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"
#include "vectors.hpp"

namespace pollster::bench {
namespace {

using detail::answer_parser;
using detail::async_result_view;
using detail::envelope_view;
using detail::padded_buffer;

padded_buffer buffer_of(std::string_view json) {
  padded_buffer b;
  b.append(json.data(), json.size());
  return b;
}

// What client.cpp does with a GetAsyncResult answer, minus the I/O; returns
// an empty string when the parse matched the vector, else what differed.
const char* engine_parse(answer_parser& p, const padded_buffer& b, const vector& v) {
  envelope_view env;
  if (p.parse_envelope(b.data(), b.size(), b.capacity(), env)) return "envelope rejected";
  if (env.is_error != v.method_error) return "is_error differs";
  if (env.is_error) return env.error.name == v.error_name && env.error.code == 500 ? nullptr : "error differs";
  if (!v.get_async_result)
    return env.result_raw.starts_with(R"({"asyncHandles")") ? nullptr : "result differs";
  async_result_view r;
  if (p.parse_async_result(env.result_raw, b.data() + b.capacity(), r)) return "result rejected";
  if (r.complete != v.complete || r.result_type != v.result_type) return "status/resultType differ";
  if (r.create_time.size() != 20 || r.last_update_time.size() != 20) return "times differ";
  if (!v.complete) return r.details_raw == v.member_raw ? nullptr : "details differ";
  if (!v.error_name.empty())
    return r.has_error && r.error_raw == v.member_raw && r.error_name == v.error_name ? nullptr
                                                                                      : "task error differs";
  return r.has_result && r.result_raw == v.member_raw ? nullptr : "result differs";
}

// Times `parse` (which says why an answer differs from its vector, or nullptr)
// over one vector, after checking it once outside the timed loop.
template <class Parser, class Parse>
void time_parse(benchmark::State& state, Parser& p, const vector* v, Parse parse) {
  const padded_buffer b = buffer_of(v->json);
  if (const char* why = parse(p, b, *v)) {
    state.SkipWithError(why);
    return;
  }
  for (auto _ : state) {
    const char* why = parse(p, b, *v);
    benchmark::DoNotOptimize(why);
    if (why) {
      state.SkipWithError(why);
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * v->json.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Parse_OnDemand(benchmark::State& state, const vector* v) {
  answer_parser p;
  time_parse(state, p, v, engine_parse);
}

// The same questions answered from a DOM: the whole document is parsed into a
// tape first, then the fields are looked up. (A DOM cannot hand out the raw
// bytes of `result`; it is asked for the member's presence and type instead.)
const char* dom_parse(simdjson::dom::parser& p, const padded_buffer& b, const vector& v) {
  simdjson::dom::element doc;
  if (p.parse(reinterpret_cast<const uint8_t*>(b.data()), b.size(), false).get(doc))
    return "document rejected";
  simdjson::dom::object top;
  if (doc.get_object().get(top)) return "not an object";
  simdjson::dom::element error;
  if (top["error"].get(error) == simdjson::SUCCESS) {
    if (!v.method_error) return "is_error differs";
    std::string_view name;
    int64_t code = 0;
    if (error["name"].get(name) || error["code"].get(code)) return "error shape";
    return name == v.error_name && code == 500 ? nullptr : "error differs";
  }
  simdjson::dom::object result;
  if (top["result"].get(result)) return "no result";
  if (!v.get_async_result) {
    simdjson::dom::array handles;
    return result["asyncHandles"].get(handles) == simdjson::SUCCESS ? nullptr : "result differs";
  }
  std::string_view status, type, created, updated;
  if (result["status"].get(status) || result["resultType"].get(type) ||
      result["createTime"].get(created) || result["lastUpdateTime"].get(updated))
    return "result shape";
  if ((status == "complete") != v.complete || type != v.result_type) return "status/resultType differ";
  if (created.size() != 20 || updated.size() != 20) return "times differ";
  simdjson::dom::object member;
  if (!v.complete) return result["details"].get(member) == simdjson::SUCCESS ? nullptr : "details differ";
  if (!v.error_name.empty()) {
    std::string_view name;
    if (result["error"].get(member) || member["name"].get(name)) return "task error shape";
    return name == v.error_name ? nullptr : "task error differs";
  }
  return result["result"].get(member) == simdjson::SUCCESS ? nullptr : "result differs";
}

void BM_Parse_Dom(benchmark::State& state, const vector* v) {
  simdjson::dom::parser p;
  time_parse(state, p, v, dom_parse);
}

// The progress callback's extra parse (only when wait_options::on_progress is set).
void BM_Parse_PercentComplete(benchmark::State& state) {
  answer_parser p;
  const vector& v = kVectors[4];
  const padded_buffer b = buffer_of(v.json);
  const auto at = v.json.find(v.member_raw);
  const std::string_view details(b.data() + at, v.member_raw.size());
  for (auto _ : state) {
    const double pct = p.percent_complete(details, b.data() + b.capacity());
    if (pct != 8.17) {
      state.SkipWithError("percentComplete differs");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

int register_all() {
  for (const vector& v : kVectors) {
    benchmark::RegisterBenchmark((std::string("BM_Parse_OnDemand/") + v.name).c_str(), BM_Parse_OnDemand, &v);
    benchmark::RegisterBenchmark((std::string("BM_Parse_Dom/") + v.name).c_str(), BM_Parse_Dom, &v);
  }
  benchmark::RegisterBenchmark("BM_Parse_PercentComplete/running", BM_Parse_PercentComplete);
  benchmark::AddCustomContext("pollster_json_implementation",
                              std::string(pollster::engine::json_implementation()));
  benchmark::AddCustomContext("pollster_json_library", std::string(pollster::engine::json_library()));
  benchmark::AddCustomContext("simdjson_dom_implementation",
                              simdjson::get_active_implementation()->name());
  return 0;
}
const int registered = register_all();

}  // namespace
}  // namespace pollster::bench
