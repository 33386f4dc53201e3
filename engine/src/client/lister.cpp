// Fan-in (docs/architecture.md, "one list tick"): the list index, the
// lister coroutine that sends one ListAsyncResults per tick for every listed
// wait, and what a list answer does to the waits.
#include "client/impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include "pollster/params.hpp"

namespace pollster {

namespace {

// The parser lists go through: one per thread, not the engine's. A parser
// keeps the capacity of the biggest answer it has read (simdjson's
// structural index: about 4 bytes per byte of answer), so one per engine held
// a list's worth each in a process with one engine per cluster (`pollster
// load`: 100 of them, bench/many_clusters.sh). A list is parsed and acted on
// without a suspension, and nothing it leaves in the parser is read after
// on_list_answer, so every engine of the thread can share it.
detail::answer_parser& list_parser() {
  thread_local detail::answer_parser parser;
  return parser;
}

}  // namespace

// How often a wait would be polled on its own: twice its poll backoff's
// first delay, on average over the waits (the default, 1 s x 1.5^n,
// averages about 2 s over jobs of 2-20 s: the loop fan-in competes with).
duration client::impl::poll_spacing() const {
  if (live_waits == 0) return std::chrono::seconds(2);
  return 2 * poll_initial_sum / static_cast<std::int64_t>(live_waits);
}

void client::impl::count_type(const wait_state& w, int delta) {
  poll_initial_sum += delta * w.opts->poll.initial;
  if (w.opts->result_type.empty()) {
    untyped_waits += delta;
    return;
  }
  auto [it, fresh] = typed_waits.try_emplace(w.opts->result_type, 0);
  it->second += delta;
  if (it->second == 0) typed_waits.erase(it);
}

// Into the list index; it sleeps in the heap only for its deadline.
void client::impl::list_wait(wait_state* w) {
  w->listed = true;
  auto [it, fresh] = listed.try_emplace(w->handle);
  if (fresh) it->second.since = list_tick;
  w->same_handle = std::exchange(it->second.head, w);
  if (w->machine.deadline() != time_point::max()) {
    w->wake = w->machine.deadline();
    sleeping.push(w);
    arm_wake_timer();
  }
}

void client::impl::unlist(wait_state* w) {
  w->listed = false;
  auto it = listed.find(w->handle);
  if (it == listed.end()) return;
  wait_state** p = &it->second.head;
  while (*p && *p != w) p = &(*p)->same_handle;
  if (*p) *p = w->same_handle;
  w->same_handle = nullptr;
  if (!it->second.head) listed.erase(it);
}

// Every listed wait, out of the index and the heap, for the caller to
// place (user code may run meanwhile: the index is not walked while used).
std::vector<client::impl::wait_state*> client::impl::take_listed() {
  std::vector<wait_state*> all;
  for (auto& [h, node] : listed)
    for (wait_state* w = node.head; w; w = w->same_handle) all.push_back(w);
  for (wait_state* w : all) {
    unlist(w);
    if (detail::intrusive_heap<wait_state>::contains(w)) sleeping.erase(w);
  }
  return all;
}

// Every listed wait goes back to polling on its own (automatic fell back,
// or a list no longer pays): first polls spread over a second, not a burst.
void client::impl::unlist_all(time_point now) {
  for (wait_state* w : take_listed()) {
    w->wake = now + std::chrono::duration_cast<duration>(
                        std::chrono::duration<double>(eng->rng.unit()));
    if (w->wake > w->machine.deadline()) w->wake = w->machine.deadline();
    sleeping.push(w);
  }
  arm_wake_timer();
}

void client::impl::ensure_lister() {
  if (lister_running || shut_down || listed.empty()) return;
  lister_running = true;
  asio::co_spawn(executor(), run_lister(), asio::detached);
}

// The request: every result, or only the types the waits are of.
void client::impl::build_list(std::string& buf, std::uint64_t id) {
  if (untyped_waits > 0 || typed_waits.empty()) {
    encoder.call(buf, "ListAsyncResults", "{}", id);
    return;
  }
  std::string params = R"({"asyncResultTypes":[)";
  bool first = true;
  for (const auto& [type, n] : typed_waits) {
    if (!std::exchange(first, false)) params += ',';
    pollster::params::append_quoted(params, type);
  }
  params += "]}";
  encoder.call(buf, "ListAsyncResults", params, id);
}

// The outcome of a completed entry: `data` is the result or the task's
// error, by `success`; raw_answer is GetAsyncResult's shape rebuilt from
// the entry (keys sorted as a cluster sorts them), values byte for byte.
void client::impl::outcome_from_entry(outcome& out, const detail::list_entry_view& e) {
  out.diagnostics.from_list = true;
  note_completion(out, {!e.success, e.result_type, e.create_time, e.last_update_time, e.data_raw,
                        e.error_name, e.error_message});
  std::string& r = out.raw_answer;
  r.clear();
  r.reserve(e.data_raw.size() + e.result_type.size() + 2 * e.create_time.size() + 96);
  r += '{';
  auto text = [&r](std::string_view key, std::string_view value) {
    if (r.size() > 1) r += ',';
    r.append("\"").append(key).append("\":\"").append(value).append("\"");
  };
  auto raw = [&r](std::string_view key, std::string_view value) {
    if (r.size() > 1) r += ',';
    r.append("\"").append(key).append("\":").append(value);
  };
  if (!e.create_time.empty()) text("createTime", e.create_time);
  if (!e.success) raw("error", e.data_raw);
  if (!e.last_update_time.empty()) text("lastUpdateTime", e.last_update_time);
  if (e.success) raw("result", e.data_raw);
  if (!e.result_type.empty()) text("resultType", e.result_type);
  text("status", "complete");
  r += '}';
}

// A list that failed: noted for the waits' outcomes, told to the policy.
// `fatal` (an HTTP status or method error that a resend cannot change:
// 401, a redirect, an unknown method): automatic falls back at once, and
// the per-handle polls then end each wait as they would have anyway; a
// forced list mode ends its waits failed, with that error.
void client::impl::list_failed(time_point now, const std::string& why, std::chrono::seconds retry_after,
                 std::error_code fatal) {
  last_list_error = "ListAsyncResults: " + why;
  if (!fatal) ++eng->stats.transient_errors;
  const bool was_fallen = fan_in.fallen_back(now);
  fan_in.on_list_failed(now, retry_after, static_cast<bool>(fatal));
  if (!was_fallen && fan_in.fallen_back(now)) {
    ++eng->stats.list_fallbacks;
    unlist_all(now);
    return;
  }
  if (fatal && cfg.fan_in.mode == fan_in_mode::list) {
    for (wait_state* w : take_listed()) {
      note_error(w->out(), fatal, last_list_error);
      finish(w, w->machine.on_fatal());
    }
  }
}

asio::awaitable<void> client::impl::run_lister() {
  auto self = shared_from_this();
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer timer(executor());
  active_guard guard(*this, timer);
  list_pass pass{.c = *this, .tick = 0, .done = {}, .unreadable = {}, .progress = {}};
  while (!shut_down && !listed.empty()) {
    const time_point at = fan_in.next_list();
    if (at > steady::now()) {
      lister_timer = &timer;
      timer.expires_at(at);
      co_await timer.async_wait(use_nothrow);
      lister_timer = nullptr;
      continue;  // woken early (new waits) or on time: look again
    }
    const time_point now = steady::now();
    if (!use_list(now)) {
      unlist_all(now);
      break;
    }
    pass.tick = ++list_tick;
    attempt a = co_await send(timer, now + cfg.request_timeout, request_event::kind::list,
                              [this](std::string& buf, std::uint64_t id) { build_list(buf, id); });
    if (shut_down) break;
    if (a.ec) {
      const auto c = detail::classify_failure(a.ec);
      list_failed(steady::now(), a.detail.empty() ? a.ec.message() : a.detail, {},
                  c.what == detail::verdict::retry ? std::error_code{} : c.ec);
      continue;
    }
    if (a.http_status != 200) {
      const auto c = detail::classify_http_status(a.http_status);
      list_failed(steady::now(), http_message(a.http_status, c.ec), a.retry_after,
                  c.what == detail::verdict::retry ? std::error_code{} : c.ec);
      continue;
    }
    const auto& body = a.held.body();
    pass.done.clear();
    pass.unreadable.clear();
    pass.progress.clear();
    detail::envelope_view env;
    detail::list_summary summary;
    const detail::list_sink sink{&pass, &list_pass::wants, &list_pass::entry};
    const auto ec = list_parser().parse_list_async_results(body.data(), body.size(),
                                                           body.capacity(), env, sink, summary);
    const bool unasked_answer = !ec && unasked(a, env);
    if (ec || unasked_answer || env.is_error) {
      // Nothing of a bad answer is acted on: its staged outcomes go unused.
      if (ec) {
        list_failed(steady::now(), std::string(error_name(ec)) + ": " + ec.message(), {});
      } else if (unasked_answer) {
        list_failed(steady::now(), unasked_message(a, env), {});
      } else {
        const auto c = detail::classify_method_error(env.error.name);
        list_failed(steady::now(), std::string(env.error.name) + ": " + std::string(env.error.message),
                    {}, c.what == detail::verdict::retry ? std::error_code{} : c.ec);
      }
      a.held.trim_body();
      continue;
    }
    ++eng->stats.lists;
    eng->stats.list_entries += summary.entries;
    last_list_error.clear();
    const std::size_t bytes = body.size();
    on_list_answer(pass, body.data() + body.capacity());
    // A list's megabytes are not kept while the connection idles until its
    // next answer (bench/many_clusters.sh: memory per handle).
    a.held.trim_body();
    a.held.reset();
    fan_in.on_list(steady::now(), bytes, pass.done.size(), a.retry_after);
  }
  lister_running = false;
}

// Acts on a clean list answer: completed entries end their waits, running
// ones tell progress, and waits whose entry was absent are confirmed per
// handle (never existed, purged by someone else, a filtered or truncated
// list): a GetAsyncResult says complete, running or gone.
void client::impl::on_list_answer(list_pass& pass, const char* buffer_end) {
  // Outcomes first: delivery is posted, so no user code runs here.
  for (auto& d : pass.done) {
    auto it = listed.find(d.handle);
    if (it == listed.end()) continue;
    std::vector<wait_state*> chain;
    for (wait_state* w = it->second.head; w; w = w->same_handle) chain.push_back(w);
    for (std::size_t i = 0; i < chain.size(); ++i) {
      wait_state* w = chain[i];
      unlist(w);
      if (detail::intrusive_heap<wait_state>::contains(w)) sleeping.erase(w);
      take_entry(w->out(), d.staged, i + 1 == chain.size());
      finish(w, w->machine.on_complete(!d.success));
    }
  }
  // Absent (never existed, purged elsewhere, filtered, truncated) or
  // unreadable: each index node is checked, none is skipped.
  std::vector<std::uint64_t> absent = std::move(pass.unreadable);
  for (auto& [h, node] : listed)
    if (node.since < pass.tick && node.seen != pass.tick) absent.push_back(h);
  for (std::uint64_t h : absent) {
    auto it = listed.find(h);
    if (it == listed.end()) continue;
    std::vector<wait_state*> chain;
    for (wait_state* w = it->second.head; w; w = w->same_handle) chain.push_back(w);
    for (wait_state* w : chain) {
      unlist(w);
      if (detail::intrusive_heap<wait_state>::contains(w)) sleeping.erase(w);
      apply(w, w->machine.on_absent(steady::now()));
    }
  }
  // Progress callbacks last: they are user code, and may end waits (their
  // own or others). Each call looks the handle up again and takes the
  // first wait not yet told in this tick: no pointer outlives a call.
  for (auto& p : pass.progress) {
    for (;;) {
      auto it = listed.find(p.handle);
      if (it == listed.end()) break;
      wait_state* w = it->second.head;
      while (w && (!w->opts->on_progress || w->progress_tick == pass.tick)) w = w->same_handle;
      if (!w) break;
      w->progress_tick = pass.tick;
      w->seen_running = true;
      const progress pr{p.handle, p.result_type, p.details,
                        eng->parser.percent_complete(p.details, buffer_end)};
      const auto on_progress = w->opts->on_progress;  // the wait may end inside
      on_progress(pr);
    }
  }
}

// A staged entry's fields into a wait's outcome (which may hold start_json
// or an earlier error): moved into the last wait of the handle's chain.
void client::impl::take_entry(outcome& out, outcome& staged, bool last) {
  // The staged outcome holds the entry's parts and raw_answer, and nothing
  // else yet (kind, handle and diagnostics are set when the wait finishes):
  // it replaces the wait's, all but start_json.
  std::string start_json = std::move(out.start_json);
  if (last)
    out = std::move(staged);
  else
    out = staged;
  out.start_json = std::move(start_json);
  out.diagnostics.from_list = true;
}


bool client::impl::list_pass::wants(void* ctx, std::uint64_t id, bool completed) {
  auto& p = *static_cast<list_pass*>(ctx);
  p.node = nullptr;
  auto it = p.c.listed.find(id);
  if (it == p.c.listed.end()) return false;
  listed_node& n = it->second;
  n.seen = p.tick;
  if (n.taken == p.tick) return false;  // a completed entry came already: the first counts
  p.node = &n;
  p.node_handle = id;
  if (completed) return true;
  for (wait_state* w = n.head; w; w = w->same_handle)
    if (w->opts->on_progress) return true;
  return false;
}

void client::impl::list_pass::entry(void* ctx, const detail::list_entry_view& e) {
  auto& p = *static_cast<list_pass*>(ctx);
  if (!p.node) return;
  if (!e.completed) {
    p.progress.push_back({p.node_handle, e.result_type, e.details_raw});
    return;
  }
  p.node->taken = p.tick;
  if (e.data_raw.empty()) {
    p.unreadable.push_back(p.node_handle);
    return;
  }
  p.done.push_back({p.node_handle, e.success, {}});
  outcome_from_entry(p.done.back().staged, e);
}

}  // namespace pollster
