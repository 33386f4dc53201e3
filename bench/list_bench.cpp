// ListAsyncResults parse + match, the fan-in hot path: one answer of N
// entries (the simulator's shape, about 230 B each), matched against N/2
// outstanding waits held as the client holds them (a hash map by handle).
// One entry in ten is complete; the complete entries of outstanding waits are
// "woken" (their data validated and handed over, as client.cpp does). Each
// iteration's counts are checked against the ones the answer was built with,
// so a fast wrong parse cannot win.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <unordered_map>

#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"

namespace pollster::bench {
namespace {

using detail::answer_parser;
using detail::envelope_view;
using detail::list_entry_view;
using detail::list_sink;
using detail::list_summary;
using detail::padded_buffer;

struct list_fixture {
  padded_buffer answer;
  std::unordered_map<std::uint64_t, int> waits;  // handle -> a wait (its index)
  std::size_t expected_woken = 0;
  std::size_t expected_entries = 0;
};

list_fixture make(std::size_t n) {
  list_fixture f;
  std::string s = R"({"id":7,"result":{"asyncHandles":[)";
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t id = 1000 + i;
    const bool complete = i % 10 == 3;
    const bool ours = i % 2 == 1;
    if (i) s += ',';
    s += R"({"asyncResultID":)" + std::to_string(id) + R"(,"completed":)" + (complete ? "true" : "false") +
         R"(,"createTime":"2016-01-01T22:29:19Z","data":)" +
         (complete ? R"({"cloneID":)" + std::to_string(i) + R"(,"message":"Clone complete.","volumeID":)" +
                         std::to_string(i + 7) + "}"
                   : std::string("{}")) +
         (complete ? "" : R"(,"details":{"percentComplete":42,"stage":"whole"})") +
         R"(,"lastUpdateTime":"2016-01-01T22:45:43Z","resultType":"Clone","success":true})";
    if (ours) f.waits.emplace(id, static_cast<int>(i));
    if (ours && complete) ++f.expected_woken;
  }
  s += "]}}";
  f.expected_entries = n;
  f.answer.append(s.data(), s.size());
  return f;
}

struct matcher {
  const std::unordered_map<std::uint64_t, int>* waits;
  std::size_t woken = 0;
  std::size_t data_bytes = 0;
  static bool wants(void* c, std::uint64_t id, bool completed) {
    auto& m = *static_cast<matcher*>(c);
    return completed && m.waits->find(id) != m.waits->end();
  }
  static void entry(void* c, const list_entry_view& e) {
    auto& m = *static_cast<matcher*>(c);
    ++m.woken;
    m.data_bytes += e.data_raw.size();
  }
};

void BM_ListAsyncResults(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const list_fixture f = make(n);
  answer_parser p;
  std::size_t woken_total = 0;
  for (auto _ : state) {
    matcher m{&f.waits};
    const list_sink sink{&m, &matcher::wants, &matcher::entry};
    envelope_view env;
    list_summary sum;
    const auto ec = p.parse_list_async_results(f.answer.data(), f.answer.size(), f.answer.capacity(),
                                               env, sink, sum);
    if (ec || sum.entries != f.expected_entries || m.woken != f.expected_woken || env.id != 7) {
      state.SkipWithError("the list was not read right");
      return;
    }
    benchmark::DoNotOptimize(m.data_bytes);
    woken_total += m.woken;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.answer.size()));
  state.counters["entries"] = static_cast<double>(n);
  state.counters["answer_bytes"] = static_cast<double>(f.answer.size());
  // Time per waiter woken (s; the report prints it in ns or us).
  state.counters["per_woken"] = benchmark::Counter(static_cast<double>(woken_total),
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ListAsyncResults)->Name("ListAsyncResults")->Arg(1000)->Arg(10000)->Arg(100000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pollster::bench
