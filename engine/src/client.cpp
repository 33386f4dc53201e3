// The I/O shell around the decision classes. A wait is plain data (a
// wait_state with its wait_machine) that sleeps in the client's timer heap;
// a few worker coroutines, one per pooled connection, take the waits that are
// due, poll them, and ask the wait_machine what next. See
// docs/architecture.md for the path of one poll.
#include "pollster/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "detail/intrusive_heap.hpp"
#include "detail/intrusive_list.hpp"
#include "pollster/error.hpp"
#include "pollster/params.hpp"
#include "engine_impl.hpp"
#include "poller/backoff.hpp"
#include "poller/call_machine.hpp"
#include "poller/fan_in.hpp"
#include "poller/token_bucket.hpp"
#include "poller/wait_machine.hpp"
#include "protocol/classify.hpp"
#include "protocol/request_encoder.hpp"
#include "protocol/result_types.hpp"
#include "transport/connection.hpp"
#include "transport/handler_memory.hpp"
#include "transport/pool_state.hpp"
#include "transport/tls.hpp"

namespace pollster {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using time_point = steady::time_point;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// A request waiting for a pooled connection (FIFO), parked on its timer.
struct slot_waiter : detail::list_hook<slot_waiter> {
  asio::steady_timer* timer = nullptr;
  std::optional<std::size_t> slot;
};

// A wait, release or call in flight: shutdown() cancels its timer.
struct active_node : detail::list_hook<active_node> {
  asio::steady_timer* timer = nullptr;
};

// A parked worker, woken by cancelling its timer.
struct idle_worker : detail::list_hook<idle_worker> {
  asio::steady_timer* timer = nullptr;
};

std::error_code err(pollster::error e) { return make_error_code(e); }

// One handle being waited for. Lives in exactly one place at a time: the
// sleep heap, the ready FIFO, or a worker's hands.
struct wait_state : detail::list_hook<wait_state> {
  wait_state(std::uint64_t h, std::shared_ptr<const wait_options> o, time_point now, detail::rng& r,
             asio::any_completion_handler<void(outcome)> done)
      : handle(h), opts(std::move(o)), machine(*opts, now, r), handler(std::move(done)) {}

  outcome& out() {  // allocated only when there is something to say
    if (!result) {
      result = std::make_unique<outcome>();
      result->handle = handle;
    }
    return *result;
  }

  std::uint64_t handle;
  std::shared_ptr<const wait_options> opts;
  detail::wait_machine machine;
  asio::any_completion_handler<void(outcome)> handler;
  time_point wake{};
  std::size_t heap_index = detail::intrusive_heap<wait_state>::npos;
  bool in_flight = false;
  bool cancel_requested = false;
  bool seen_running = false;
  // Fan-in: served by the client's lists (not polled on its own), in the
  // list index under its handle (chained with other waits for that handle).
  bool listed = false;
  bool running_answer = false;  // the last poll said "running"
  std::uint32_t progress_tick = 0;  // the last list whose progress it was told
  wait_state* same_handle = nullptr;
  // While in flight: what to close or cancel to end it at once.
  detail::connection* conn_in_use = nullptr;
  asio::steady_timer* timer_in_use = nullptr;
  std::string last_details;
  std::unique_ptr<outcome> result;
};

}  // namespace

struct client::impl : std::enable_shared_from_this<client::impl> {
  impl(std::shared_ptr<engine::impl> e, client_config c, endpoint parsed);

  std::shared_ptr<engine::impl> eng;
  client_config cfg;
  endpoint ep;
  std::optional<asio::ssl::context> tls_ctx;
  detail::request_encoder encoder;
  detail::pool_state pool;
  std::vector<std::unique_ptr<detail::connection>> conns;
  detail::token_bucket bucket;
  detail::intrusive_list<slot_waiter> waiters;
  detail::intrusive_list<active_node> active;
  // The waits: sleeping (by wake time), due (FIFO), and the idle workers.
  detail::intrusive_heap<wait_state> sleeping;
  detail::intrusive_list<wait_state> ready;
  detail::intrusive_list<idle_worker> idle;
  std::size_t workers = 0;
  std::size_t live_waits = 0;
  // Handles to release (keepResult=false) once delivered, and how many
  // releases are being sent: the workers take them when no poll is due.
  std::deque<std::uint64_t> releases;
  std::size_t releases_in_flight = 0;
  std::optional<asio::steady_timer> wake_timer;
  time_point wake_armed_at = time_point::max();
  // The wake timer's wait, re-armed as often as once per poll, reuses this
  // memory instead of Asio's per-thread cache (see handler_memory.hpp).
  detail::handler_memory_owner wake_memory;
  bool shut_down = false;
  std::uint64_t next_id = 1;

  // --- fan-in (docs/architecture.md, "one list tick") ---
  // The listed waits by handle: the head of each handle's chain, the tick
  // that first could see it (an entry is expected only in lists sent after),
  // and the last tick whose answer had its entry.
  struct listed_node {
    wait_state* head = nullptr;
    std::uint32_t since = 0;
    std::uint32_t seen = 0;
    std::uint32_t taken = 0;  // the tick whose completed entry ended it (duplicates ignored)
  };
  std::unordered_map<std::uint64_t, listed_node> listed;
  detail::fan_in_policy fan_in;
  std::uint32_t list_tick = 0;  // lists sent so far
  bool lister_running = false;
  asio::steady_timer* lister_timer = nullptr;  // set while the lister sleeps
  // asyncResultTypes filter: usable while every wait knows its type.
  std::size_t untyped_waits = 0;
  duration poll_initial_sum{0};  // over the live waits: see poll_spacing()
  std::map<std::string, std::size_t, std::less<>> typed_waits;
  // The last list failure, told in the outcome of a listed wait that ends
  // without an answer of its own ("deadline exceeded (last error: ...)").
  std::string last_list_error;

  asio::any_io_executor executor() { return eng->ioc.get_executor(); }

  // Unlinks an active_node when the coroutine owning it ends.
  struct active_guard {
    impl& c;
    active_node node;
    active_guard(impl& owner, asio::steady_timer& t) : c(owner) {
      node.timer = &t;
      c.active.push_back(&node);
    }
    ~active_guard() { c.active.erase(&node); }
  };

  // A borrowed pooled connection; goes back to the pool when destroyed.
  class lease {
   public:
    lease() = default;
    lease(impl* c, std::size_t slot) : c_(c), slot_(slot) {}
    lease(lease&& o) noexcept : c_(std::exchange(o.c_, nullptr)), slot_(o.slot_) {}
    lease& operator=(lease&& o) noexcept {
      reset();
      c_ = std::exchange(o.c_, nullptr);
      slot_ = o.slot_;
      return *this;
    }
    ~lease() { reset(); }
    void reset() {
      if (c_) std::exchange(c_, nullptr)->release_slot(slot_);
    }
    detail::connection& conn() const { return *c_->conns[slot_]; }
    explicit operator bool() const { return c_ != nullptr; }

   private:
    impl* c_ = nullptr;
    std::size_t slot_ = 0;
  };

  struct attempt {
    std::error_code ec;
    std::string detail;
    bool may_have_reached_server = false;
    int http_status = 0;
    std::chrono::seconds retry_after{0};
    std::uint64_t id = 0;  // the JSON-RPC id sent: the answer must echo it
    lease held;  // set when an answer arrived: its body is in held.conn().body()
  };

  bool stopping(const asio::cancellation_state& cs) const {
    return shut_down || cs.cancelled() != asio::cancellation_type::none;
  }

  void release_slot(std::size_t slot) {
    pool.release(slot, conns[slot]->is_open());
    // Hand the freed slot straight to the oldest waiter (FIFO).
    if (!waiters.empty()) {
      if (auto s = pool.acquire()) {
        slot_waiter* w = waiters.pop_front();
        w->slot = *s;
        w->timer->cancel();
      }
    } else if (ready.empty()) {
      // Nothing due: the connection may stay idle, and its deadline timer
      // must not keep the io_context running. Under load (waits due) it stays
      // armed for the next request (connection::watch_until).
      conns[slot]->stop_watching();
      stop_idle_watchdogs();
    }
  }

  // Once no connection is busy, none may keep a deadline timer pending: one
  // released while waits were due may not have been picked again.
  void stop_idle_watchdogs() {
    if (pool.busy() != 0) return;
    for (auto& c : conns) c->stop_watching();
  }

  asio::awaitable<std::error_code> sleep_until(asio::steady_timer& timer, time_point at) {
    timer.expires_at(at);
    co_await timer.async_wait(use_nothrow);
    auto cs = co_await asio::this_coro::cancellation_state;
    co_return stopping(cs) ? err(error::cancelled) : std::error_code{};
  }

  asio::awaitable<std::optional<std::size_t>> acquire(asio::steady_timer& timer, time_point deadline,
                                                      std::error_code& ec) {
    if (waiters.empty())
      if (auto s = pool.acquire()) co_return s;
    slot_waiter w;
    w.timer = &timer;
    waiters.push_back(&w);
    timer.expires_at(deadline);
    co_await timer.async_wait(use_nothrow);
    waiters.erase(&w);
    auto cs = co_await asio::this_coro::cancellation_state;
    if (stopping(cs)) {
      if (w.slot) release_slot(*w.slot);
      ec = err(error::cancelled);
      co_return std::nullopt;
    }
    if (!w.slot) ec = err(error::request_timeout);
    co_return w.slot;
  }

  void observe(request_event::kind k, time_point sent, const std::error_code& ec, int status) {
    if (!eng->observer) return;
    request_event ev;
    ev.what = k;
    ev.sent = sent;
    ev.latency = steady::now() - sent;
    ev.ec = ec;
    ev.http_status = status;
    eng->observer(ev);
  }

  // One request: rate limit, borrow a connection (connecting it if needed),
  // send, read. `build` writes the request bytes into the given string.
  // `w`: the wait this request polls for, if any: it can then be cancelled
  // promptly (its connection closed, its sleep cut short).
  template <class Build>
  asio::awaitable<attempt> send(asio::steady_timer& timer, time_point deadline,
                                request_event::kind kind, Build build, wait_state* w = nullptr) {
    attempt a;
    struct in_use_guard {
      wait_state* w;
      ~in_use_guard() {
        if (w) w->conn_in_use = nullptr, w->timer_in_use = nullptr;
      }
    } guard{w};
    if (w) w->timer_in_use = &timer;
    auto cancelled = [&] {
      if (!w || !w->cancel_requested) return false;
      a.ec = err(error::cancelled);
      return true;
    };
    const time_point queued = steady::now();
    if (auto wait = bucket.reserve(queued); wait.count() > 0) {
      if (queued + wait >= deadline) {
        bucket.refund();  // not sent: the token goes back
        a.ec = err(error::request_timeout);
        a.detail = "rate limit leaves no time before the deadline";
        co_return a;
      }
      if ((a.ec = co_await sleep_until(timer, queued + wait)) || cancelled()) {
        bucket.refund();
        co_return a;
      }
    }
    auto slot = co_await acquire(timer, deadline, a.ec);
    if (cancelled()) {
      if (slot) release_slot(*slot);
      co_return a;
    }
    if (!slot) {
      if (a.ec == error::request_timeout) a.detail = "no pooled connection free before the deadline";
      co_return a;
    }
    lease held(this, *slot);
    detail::connection& conn = held.conn();
    if (w) w->conn_in_use = &conn;
    detail::exchange_result r;
    // Round 2 only follows a stale keep-alive connection (see below).
    for (int round = 1;; ++round) {
      if (!conn.is_open()) {
        const time_point not_before = pool.connect_not_before(*slot);
        if (round == 1 && not_before > steady::now()) {
          if (not_before >= deadline) {
            a.ec = err(error::request_timeout);
            a.detail = "reconnect backoff runs past the deadline";
            co_return a;
          }
          if ((a.ec = co_await sleep_until(timer, not_before))) co_return a;
          if (cancelled()) co_return a;
        }
        auto c = co_await conn.connect(std::min(deadline, steady::now() + cfg.request_timeout));
        if (c.ec) {
          ++eng->stats.connect_failures;
          pool.connect_failed(*slot, steady::now(), eng->rng, cfg.reconnect);
          a.ec = c.ec;
          a.detail = std::move(c.detail);
          co_return a;
        }
        ++eng->stats.connects;
        pool.connect_succeeded(*slot);
      }
      a.id = next_id++;
      build(conn.request_buffer(), a.id);
      ++eng->stats.requests;
      const time_point sent = steady::now();
      a.may_have_reached_server = true;
      r = co_await conn.exchange(conn.request_buffer(),
                                 std::min(deadline, sent + cfg.request_timeout));
      observe(kind, queued, r.ec, r.http_status);
      // A kept-alive connection the server had already closed (idle timeout)
      // ends before the first byte of an answer: send again at once on a
      // fresh one, as HTTP clients do — for polls and releases only; a call
      // may not be idempotent.
      if (r.ec && r.stale && round == 1 && !shut_down && kind != request_event::kind::call) continue;
      break;
    }
    if (r.ec) {
      pool.dropped(*slot, steady::now(), eng->rng, cfg.reconnect);
      a.ec = r.ec;
      a.detail = std::move(r.detail);
      co_return a;
    }
    ++eng->stats.answers;
    a.http_status = r.http_status;
    a.retry_after = r.retry_after;
    a.held = std::move(held);
    co_return a;
  }

  // "HTTP 429: server error or overload (retried)": the status itself,
  // always (408, 429 and 5xx share one error code).
  static std::string http_message(int status, std::error_code ec) {
    std::string m = ec.message();
    if (m.rfind("HTTP ", 0) == 0) m.erase(0, m.find(':') == std::string::npos ? 0 : m.find(':') + 2);
    return "HTTP " + std::to_string(status) + ": " + m;
  }

  // An answer whose id is not the request's was not asked for (a replaying
  // proxy, bytes left from an earlier exchange): its connection cannot be
  // trusted for the next answer either, so it is closed.
  bool unasked(attempt& a, const detail::envelope_view& env) {
    if (!cfg.check_id || (env.has_id && env.id == a.id)) return false;
    ++eng->stats.unasked_answers;
    a.held.conn().close();
    return true;
  }
  static std::string unasked_message(const attempt& a, const detail::envelope_view& env) {
    return "answer id " + (env.has_id ? std::to_string(env.id) : std::string("missing or not an integer")) +
           " is not the request's " + std::to_string(a.id) + " (unasked answer): connection closed";
  }

  static void note_error(outcome& out, std::error_code ec, std::string_view message) {
    out.ec = ec;
    out.error_name = error_name(ec);
    out.error_message = message.empty() ? ec.message() : std::string(message);
    out.error_code = 0;
  }

  static void note_method_error(outcome& out, std::error_code ec,
                                const detail::method_error_view& e) {
    out.ec = ec;
    out.raw_json.assign(e.raw);
    out.error_name.assign(e.name);
    out.error_message.assign(e.message);
    out.error_code = static_cast<int>(e.code);
  }

  // A classified failure of a wait's poll, told to its machine (and counted).
  detail::wait_machine::action failed(wait_state& w, time_point now, detail::verdict v,
                                      duration retry_after = {}) {
    if (v == detail::verdict::retry) ++eng->stats.transient_errors;
    return w.machine.on_failure(now, v, retry_after);
  }

  // Reads one answer to GetAsyncResult and lets the machine decide. A
  // "running" answer touches only w.last_details (its capacity is reused).
  detail::wait_machine::action on_answer(attempt& a, wait_state& w) {
    detail::wait_machine& m = w.machine;
    const time_point now = steady::now();
    if (a.http_status != 200) {
      const auto c = detail::classify_http_status(a.http_status);
      note_error(w.out(), c.ec, http_message(a.http_status, c.ec));
      return failed(w, now, c.what, a.retry_after);
    }
    const auto& body = a.held.conn().body();
    const char* end = body.data() + body.capacity();
    detail::envelope_view env;
    detail::async_result_view r;
    if (auto ec = eng->parser.parse_get_async_result(body.data(), body.size(), body.capacity(),
                                                     env, r)) {
      // Bytes that are not the answer asked for: transient, the next poll
      // may read a good one.
      note_error(w.out(), ec, {});
      return failed(w, now, detail::verdict::retry);
    }
    if (unasked(a, env)) {
      note_error(w.out(), err(error::unasked_answer), unasked_message(a, env));
      return failed(w, now, detail::verdict::retry);
    }

    if (env.is_error) {
      const auto c = detail::classify_method_error(env.error.name);
      note_method_error(w.out(), c.ec, env.error);
      return failed(w, now, c.what);
    }
    if (!r.complete) {
      ++eng->stats.running_answers;
      w.seen_running = true;
      w.running_answer = true;
      w.last_details.assign(r.details_raw);
      const double pct = eng->parser.percent_complete(r.details_raw, end);
      if (w.opts->on_progress) {
        progress p{w.handle, r.result_type, r.details_raw, pct};
        w.opts->on_progress(p);
      }
      return m.on_running(now, pct);
    }
    // The one copy of an answer: the outcome the caller keeps.
    outcome& out = w.out();
    out.ec = r.has_error ? err(error::task_failed) : std::error_code{};
    out.raw_answer.assign(r.raw);
    out.result_type.assign(r.result_type);
    out.create_time.assign(r.create_time);
    out.last_update_time.assign(r.last_update_time);
    out.error_code = 0;
    if (r.has_error) {
      out.raw_json.assign(r.error_raw);
      out.error_name.assign(r.error_name);
      out.error_message.assign(r.error_message);
    } else {
      out.raw_json.assign(r.result_raw);
      out.error_name.clear();
      out.error_message.clear();
    }
    return m.on_complete(r.has_error);
  }

  // --- fan-in: one ListAsyncResults per tick for every listed wait ---

  // How often a wait would be polled on its own: twice its poll backoff's
  // first delay, on average over the waits (the default, 1 s x 1.5^n,
  // averages about 2 s over jobs of 2-20 s: the loop fan-in competes with).
  duration poll_spacing() const {
    if (live_waits == 0) return std::chrono::seconds(2);
    return 2 * poll_initial_sum / static_cast<std::int64_t>(live_waits);
  }

  bool use_list(time_point now) { return fan_in.use_list(now, live_waits, poll_spacing()); }

  void count_type(const wait_state& w, int delta) {
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
  void list_wait(wait_state* w) {
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

  void unlist(wait_state* w) {
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
  std::vector<wait_state*> take_listed() {
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
  void unlist_all(time_point now) {
    for (wait_state* w : take_listed()) {
      w->wake = now + std::chrono::duration_cast<duration>(
                          std::chrono::duration<double>(eng->rng.unit()));
      if (w->wake > w->machine.deadline()) w->wake = w->machine.deadline();
      sleeping.push(w);
    }
    arm_wake_timer();
  }

  void ensure_lister() {
    if (lister_running || shut_down || listed.empty()) return;
    lister_running = true;
    asio::co_spawn(executor(), run_lister(), asio::detached);
  }

  // The request: every result, or only the types the waits are of.
  void build_list(std::string& buf, std::uint64_t id) {
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

  // One pass over a list answer: what it says of the listed waits. Waits
  // are named by handle where user code (a progress callback) may have run
  // since, and may have ended them.
  struct list_pass {
    impl& c;
    std::uint32_t tick;
    listed_node* node = nullptr;  // the entry wants() just found
    std::uint64_t node_handle = 0;
    // A completed entry's outcome, staged: it reaches the waits only once the
    // whole answer proved good (a rejected answer leaves them untouched).
    struct ended {
      std::uint64_t handle;
      bool success;
      outcome staged;
    };
    std::vector<ended> done;
    std::vector<std::uint64_t> unreadable;  // completed entries without data: confirmed per handle
    struct progressed {
      std::uint64_t handle;
      std::string_view result_type, details;
    };
    std::vector<progressed> progress;

    static bool wants(void* ctx, std::uint64_t id, bool completed) {
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
    static void entry(void* ctx, const detail::list_entry_view& e) {
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
  };

  // The outcome of a completed entry: `data` is the result or the task's
  // error, by `success`; raw_answer is GetAsyncResult's shape rebuilt from
  // the entry (keys sorted as a cluster sorts them), values byte for byte.
  static void outcome_from_entry(outcome& out, const detail::list_entry_view& e) {
    out.from_list = true;
    out.result_type.assign(e.result_type);
    out.create_time.assign(e.create_time);
    out.last_update_time.assign(e.last_update_time);
    out.raw_json.assign(e.data_raw);
    out.error_code = 0;
    if (e.success) {
      out.error_name.clear();
      out.error_message.clear();
    } else {
      out.error_name.assign(e.error_name);
      out.error_message.assign(e.error_message);
    }
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
  void list_failed(time_point now, const std::string& why, std::chrono::seconds retry_after,
                   std::error_code fatal = {}) {
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

  asio::awaitable<void> run_lister() {
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
      const auto& body = a.held.conn().body();
      pass.done.clear();
      pass.unreadable.clear();
      pass.progress.clear();
      detail::envelope_view env;
      detail::list_summary summary;
      const detail::list_sink sink{&pass, &list_pass::wants, &list_pass::entry};
      const auto ec = eng->parser.parse_list_async_results(body.data(), body.size(),
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
        continue;
      }
      ++eng->stats.lists;
      eng->stats.list_entries += summary.entries;
      last_list_error.clear();
      const std::size_t bytes = body.size();
      on_list_answer(pass, body.data() + body.capacity());
      a.held.reset();
      fan_in.on_list(steady::now(), bytes, pass.done.size(), a.retry_after);
    }
    lister_running = false;
  }

  // Acts on a clean list answer: completed entries end their waits, running
  // ones tell progress, and waits whose entry was absent are confirmed per
  // handle (never existed, purged by someone else, a filtered or truncated
  // list): a GetAsyncResult says complete, running or gone.
  void on_list_answer(list_pass& pass, const char* buffer_end) {
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
  static void take_entry(outcome& out, outcome& staged, bool last) {
    auto take = [last](std::string& dst, std::string& src) {
      if (last)
        dst = std::move(src);
      else
        dst = src;
    };
    out.from_list = true;
    take(out.result_type, staged.result_type);
    take(out.create_time, staged.create_time);
    take(out.last_update_time, staged.last_update_time);
    take(out.raw_json, staged.raw_json);
    take(out.raw_answer, staged.raw_answer);
    take(out.error_name, staged.error_name);
    take(out.error_message, staged.error_message);
    out.error_code = 0;
  }

  // --- the scheduler: sleeping heap, ready FIFO, workers ---

  void start_wait(std::unique_ptr<wait_state> owned) {
    wait_state* w = owned.release();
    ++live_waits;
    if (auto slot = w->handler.get_cancellation_slot(); slot.is_connected()) {
      slot.assign([self = weak_from_this(), w](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto c = self.lock()) c->cancel_wait(w);
      });
    }
    count_type(*w, +1);
    if (shut_down) {
      finish(w, w->machine.on_cancelled());
      return;
    }
    // A wait already past its deadline finishes here (timed_out) and leaves
    // nothing ready: ensure_workers() then spawns nothing.
    const time_point now = steady::now();
    if (use_list(now)) {
      if (w->machine.expired(now)) {
        finish(w, w->machine.on_woken(now));  // timed_out, nothing sent
        return;
      }
      // Its first look is the next list (brought forward to the floor).
      list_wait(w);
      fan_in.on_waits_added(now);
      if (lister_timer && lister_timer->expiry() > fan_in.next_list()) lister_timer->cancel();
      ensure_lister();
      return;
    }
    apply(w, w->machine.start(now));
    ensure_workers();
  }

  void apply(wait_state* w, detail::wait_machine::action act) {
    using step = detail::wait_machine::step;
    if (shut_down && act.what != step::finish) act = w->machine.on_cancelled();
    switch (act.what) {
      case step::finish: finish(w, act); break;
      case step::poll: make_ready(w); break;
      case step::sleep:
        w->wake = act.at;
        sleeping.push(w);
        arm_wake_timer();
        break;
    }
  }

  void make_ready(wait_state* w) {
    ready.push_back(w);
    wake_a_worker();
  }

  void wake_a_worker() {
    if (idle_worker* i = idle.pop_front())
      i->timer->cancel();
    else
      ensure_workers();
  }

  void arm_wake_timer() {
    if (sleeping.empty() || shut_down) return;
    const time_point at = sleeping.top()->wake;
    if (at >= wake_armed_at) return;  // already armed for an earlier time
    if (!wake_timer) wake_timer.emplace(executor());
    wake_armed_at = at;
    wake_timer->expires_at(at);
    wake_timer->async_wait(asio::bind_allocator(
        wake_memory.allocator(),
        [self = shared_from_this()](const boost::system::error_code& ec) {
          if (ec) return;  // re-armed or shut down
          self->wake_armed_at = time_point::max();
          self->on_wake();
        }));
  }

  void on_wake() {
    const time_point now = steady::now();
    while (!sleeping.empty() && sleeping.top()->wake <= now) {
      wait_state* w = sleeping.pop();
      apply(w, w->machine.on_woken(now));
    }
    arm_wake_timer();
  }

  // Releases go on at most half the pool at once (at least one), so polls
  // that fall due while releases are in flight find a worker.
  std::size_t release_lanes() const { return std::max<std::size_t>(1, pool.size() / 2); }
  bool release_ready() const {
    return !releases.empty() && releases_in_flight < release_lanes();
  }

  void ensure_workers() {
    // One worker per connection the pool may open: more could not poll at
    // once. Only for work that is there: co_spawn starts a worker inline, and
    // one that found nothing would end at once and be spawned again (a spin).
    while (workers < pool.size() && !shut_down && (!ready.empty() || release_ready())) {
      ++workers;
      asio::co_spawn(executor(), run_worker(), asio::detached);
    }
  }

  // Nothing left to poll or release: idle workers end, so the io_context drains.
  void maybe_drain() {
    if (live_waits == 0 && releases.empty() && releases_in_flight == 0)
      idle.for_each([](idle_worker* i) { i->timer->cancel(); });
  }

  asio::awaitable<void> run_worker() {
    auto self = shared_from_this();
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(executor());
    active_guard guard(*this, timer);
    // Parking, as often as once per poll with few waits, reuses this memory
    // (handler_memory.hpp): Asio's per-thread cache missed it.
    detail::handler_memory_owner park_memory;
    idle_worker parked;
    parked.timer = &timer;
    while (!shut_down) {
      // Polls first: a release never takes a worker a due poll could use.
      if (wait_state* w = ready.pop_front()) {
        co_await poll_once(timer, *w);
        continue;
      }
      if (release_ready()) {
        const std::uint64_t h = releases.front();
        releases.pop_front();
        co_await release_once(timer, h);
        continue;
      }
      if (live_waits == 0 && releases.empty()) {  // nothing to do: end; new work respawns us
        stop_idle_watchdogs();  // the last waits may have been cancelled, not served
        break;
      }
      idle.push_back(&parked);
      timer.expires_at(time_point::max());
      co_await timer.async_wait(asio::bind_allocator(park_memory.allocator(), use_nothrow));
      idle.erase(&parked);
    }
    --workers;
  }

  asio::awaitable<void> poll_once(asio::steady_timer& timer, wait_state& w) {
    w.in_flight = true;
    attempt a = co_await send(timer, w.machine.deadline(), request_event::kind::poll,
                              [&](std::string& buf, std::uint64_t id) {
                                encoder.get_async_result(buf, w.handle, w.machine.keep_result(), id);
                              },
                              &w);
    w.in_flight = false;
    detail::wait_machine::action act;
    if (shut_down || w.cancel_requested || a.ec == error::cancelled) {
      act = w.machine.on_cancelled();
    } else if (a.ec) {
      note_error(w.out(), a.ec, a.detail);
      act = failed(w, steady::now(), detail::classify_failure(a.ec).what);
    } else {
      act = on_answer(a, w);
    }
    a.held.reset();  // the connection goes back before the wait sleeps or ends
    if (w.cancel_requested && act.what != detail::wait_machine::step::finish)
      act = w.machine.on_cancelled();  // cancelled from its progress callback
    const bool running = std::exchange(w.running_answer, false);
    if (running && act.what == detail::wait_machine::step::sleep && !shut_down &&
        use_list(steady::now())) {
      list_wait(&w);  // confirmed running: the lists watch it again
      ensure_lister();
      co_return;
    }
    apply(&w, act);
  }

  void cancel_wait(wait_state* w) {
    if (w->in_flight) {
      // End its request now: closing the connection completes the pending
      // I/O with an error; cancelling the timer cuts a queue or rate wait.
      w->cancel_requested = true;
      if (w->conn_in_use)
        w->conn_in_use->close();
      else if (w->timer_in_use)
        w->timer_in_use->cancel();
      return;
    }
    if (w->listed) {
      unlist(w);
      if (detail::intrusive_heap<wait_state>::contains(w)) sleeping.erase(w);
    } else if (detail::intrusive_heap<wait_state>::contains(w)) {
      sleeping.erase(w);
    } else if (w->linked) {
      ready.erase(w);
    } else {
      // In no structure: between its answer and its next step (a progress
      // callback runs then). poll_once sees the flag and ends it cancelled.
      w->cancel_requested = true;
      return;
    }
    finish(w, w->machine.on_cancelled());
  }

  // Every ending is counted here once, so the counters add up to the outcomes.
  void count(outcome_kind k) {
    switch (k) {
      case outcome_kind::succeeded:
      case outcome_kind::task_failed: ++eng->stats.completed; break;
      case outcome_kind::gone: ++eng->stats.gone; break;
      case outcome_kind::timed_out: ++eng->stats.timed_out; break;
      case outcome_kind::cancelled: ++eng->stats.cancelled; break;
      case outcome_kind::failed: ++eng->stats.failed; break;
      case outcome_kind::start_failed: ++eng->stats.start_failed; break;
    }
  }

  // One outcome on its way to the caller.
  struct delivery {
    asio::any_completion_handler<void(outcome)> handler;
    outcome out;
    bool release = false;      // after_delivery: release once the handler returned
    bool cancel_seen = false;  // the caller asked to cancel while it was on its way
  };

  // Never inline: any_completion_executor has no blocking.never in Boost
  // 1.81 (prefer() was a no-op), so the outcome is first posted to the
  // io_context — the initiating call has returned and the stack is flat —
  // then dispatched to the handler's own executor. The release follows the
  // handler's return, unless a cancellation arrived while the outcome was on
  // its way: the caller may then have dropped it (awaitable operator|| does),
  // and the result stays on the cluster rather than being lost.
  void deliver(asio::any_completion_handler<void(outcome)> handler, outcome out, bool release) {
    count(out.kind);
    auto d = std::make_unique<delivery>(delivery{std::move(handler), std::move(out), release});
    if (auto slot = d->handler.get_cancellation_slot(); slot.is_connected())
      slot.assign([p = d.get()](asio::cancellation_type t) {
        if (t != asio::cancellation_type::none) p->cancel_seen = true;
      });
    asio::post(eng->ioc, [self = shared_from_this(), d = std::move(d)]() mutable {
      auto ex = asio::get_associated_executor(d->handler, self->executor());
      asio::dispatch(ex, [self = std::move(self), d = std::move(d)]() mutable {
        // Only here, on the handler's own executor (a strand may have queued
        // it behind the caller's other work), is the outcome really handed
        // over: a cancellation up to this point may mean it is dropped.
        if (auto slot = d->handler.get_cancellation_slot(); slot.is_connected()) slot.clear();
        const bool release = d->release && !d->cancel_seen;
        const std::uint64_t handle = d->out.handle;
        std::move(d->handler)(std::move(d->out));
        if (!release) return;
        if (self->eng->ioc.get_executor().running_in_this_thread())
          self->queue_release(handle);
        else  // the handler ran elsewhere: the client lives on its io_context
          asio::post(self->eng->ioc, [self, handle] { self->queue_release(handle); });
      });
    });
  }

  static void note_ending(outcome& out, error why) {
    // Keep the last error seen: "deadline exceeded (last error: connect refused)".
    std::string last = out.error_message;
    note_error(out, err(why), {});
    if (!last.empty()) out.error_message += " (last error: " + last + ")";
  }

  // Builds the outcome, frees the wait, and delivers it.
  void finish(wait_state* w, detail::wait_machine::action act) {
    std::unique_ptr<wait_state> owned(w);
    const bool was_listed = w->listed;
    if (w->listed) {
      // An entry seen in a list and not complete: it was running.
      auto it = listed.find(w->handle);
      if (it != listed.end() && it->second.seen > it->second.since) w->seen_running = true;
      unlist(w);
    }
    count_type(*w, -1);
    --live_waits;
    // Nothing left to wake for, or to list: no timer may keep the io_context
    // running (a listed wait sleeps in the heap until its deadline).
    if (sleeping.empty() && wake_timer && wake_armed_at != time_point::max()) {
      wake_armed_at = time_point::max();
      wake_timer->cancel();
    }
    if (listed.empty() && lister_timer) lister_timer->cancel();
    maybe_drain();
    if (was_listed && !w->result && !last_list_error.empty() &&
        (act.kind == outcome_kind::timed_out || act.kind == outcome_kind::cancelled))
      note_error(w->out(), err(error::unexpected_answer), last_list_error);
    outcome out = w->result ? std::move(*w->result) : outcome{};
    out.handle = w->handle;
    out.kind = act.kind;
    out.polls = w->machine.polls();
    out.retries = w->machine.retries();
    if (!out.completed()) {
      out.last_status = w->seen_running ? "running" : "";
      out.last_details = std::move(w->last_details);
    } else {
      out.last_status = "complete";
    }
    switch (out.kind) {
      case outcome_kind::succeeded: out.ec.clear(); break;
      case outcome_kind::task_failed: out.ec = err(error::task_failed); break;
      case outcome_kind::gone: out.ec = err(error::handle_gone); break;
      case outcome_kind::timed_out: note_ending(out, error::deadline_exceeded); break;
      case outcome_kind::cancelled: note_ending(out, error::cancelled); break;
      case outcome_kind::failed:
      case outcome_kind::start_failed: break;
    }
    // A list never purges: a result it delivered is released after delivery
    // also under on_read (which would have purged on the read).
    const bool release = out.completed() && !shut_down &&
                         (w->opts->purge == purge_policy::after_delivery ||
                          (out.from_list && w->opts->purge == purge_policy::on_read));
    deliver(std::move(w->handler), std::move(out), release);
  }

  // --- releases: keepResult=false after delivery, on the workers' spare time ---

  void queue_release(std::uint64_t handle) {
    if (shut_down) return;
    releases.push_back(handle);
    if (release_ready()) wake_a_worker();
  }

  asio::awaitable<void> release_once(asio::steady_timer& timer, std::uint64_t handle) {
    ++releases_in_flight;
    detail::release_machine m(steady::now(), cfg.release_timeout, cfg.request_timeout);
    while (!shut_down && m.next_attempt()) {
      attempt a = co_await send(timer, m.deadline(), request_event::kind::release,
                                [&](std::string& buf, std::uint64_t id) {
                                  encoder.get_async_result(buf, handle, false, id);
                                });
      if (a.ec) break;
      const auto& body = a.held.conn().body();
      detail::envelope_view env;
      if (!eng->parser.parse_envelope(body.data(), body.size(), body.capacity(), env) &&
          unasked(a, env)) {
        m.on_unasked();
        continue;
      }
      ++eng->stats.releases;
      break;
    }
    --releases_in_flight;
    maybe_drain();
  }

  // --- calls: any method; call_machine decides the retries ---

  asio::awaitable<call_result> run_call(std::string method, std::string params, call_options opts) {
    auto self = shared_from_this();
    co_await asio::this_coro::throw_if_cancelled(false);
    auto cs = co_await asio::this_coro::cancellation_state;
    call_result res;
    auto fail = [&res](std::error_code ec, std::string message) {
      res.ec = ec;
      res.error_name = error_name(ec);
      res.error_message = message.empty() ? ec.message() : std::move(message);
    };
    if (method.empty() || method.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
                              std::string::npos) {
      fail(err(error::invalid_parameter), "method name '" + method + "' is not alphanumeric");
      co_return res;
    }
    {
      const auto first = params.find_first_not_of(" \t\r\n");
      if (!params.empty() && (first == std::string::npos || params[first] != '{')) {
        fail(err(error::invalid_parameter), "params must be a JSON object");
        co_return res;
      }
    }
    if (const char* why = detail::backoff_problem(opts.retry)) {
      fail(err(error::invalid_config), std::string("invalid call_options retry backoff: ") + why);
      co_return res;
    }
    asio::steady_timer timer(executor());
    active_guard guard(*this, timer);
    detail::call_machine m(opts, steady::now(), eng->rng);
    for (;;) {
      if (stopping(cs)) {
        fail(err(error::cancelled), {});
        co_return res;
      }
      attempt a = co_await send(timer, m.deadline(), request_event::kind::call,
                                [&](std::string& buf, std::uint64_t id) {
        encoder.call(buf, method, params, id);
      });
      detail::call_machine::action act;
      // An answer that arrived is read even if a cancellation came meanwhile:
      // a start method's answer carries the handle of an operation that exists.
      if (a.ec == error::cancelled || (a.ec && stopping(cs))) {
        fail(err(error::cancelled), {});
        co_return res;
      } else if (a.ec) {
        fail(a.ec, a.detail);
        act = m.on_failure(steady::now(), detail::classify_failure(a.ec).what,
                           a.may_have_reached_server);
      } else if (a.http_status != 200) {
        const auto c = detail::classify_http_status(a.http_status);
        fail(c.ec, http_message(a.http_status, c.ec));
        // A 503 is the cluster refusing the request, not half-doing it.
        act = m.on_failure(steady::now(), c.what, false, a.retry_after);
      } else {
        const auto& body = a.held.conn().body();
        detail::envelope_view env;
        if (auto ec = eng->parser.parse_envelope(body.data(), body.size(), body.capacity(), env)) {
          fail(ec, {});
          act = m.on_failure(steady::now(), detail::verdict::retry, true);
        } else if (unasked(a, env)) {
          // The real answer may still come: resent only when that is harmless.
          fail(err(error::unasked_answer), unasked_message(a, env));
          act = m.on_failure(steady::now(), detail::verdict::retry, true);
        } else if (env.is_error) {
          const auto c = detail::classify_method_error(env.error.name);
          res.ec = c.ec;
          res.error_json.assign(env.error.raw);
          res.error_name.assign(env.error.name);
          res.error_message.assign(env.error.message);
          res.error_code = env.error.code;
          act = m.on_failure(steady::now(), c.what, false);
        } else {
          res = call_result{};
          res.result_json.assign(env.result_raw);
          co_return res;
        }
      }
      a.held.reset();
      if (act.what == detail::call_machine::step::finish) {
        if (act.deadline_reached) res.error_message += " (deadline reached while retrying)";
        co_return res;
      }
      if (co_await sleep_until(timer, act.at)) {
        fail(err(error::cancelled), {});
        co_return res;
      }
    }
  }

  // A start method's answer: its asyncHandle, read from the result object.
  asio::awaitable<start_result> run_start(std::string method, std::string params,
                                          call_options opts) {
    auto self = shared_from_this();
    start_result res;
    static_cast<call_result&>(res) =
        co_await run_call(std::move(method), std::move(params), std::move(opts));
    if (!res.ok()) co_return res;
    detail::padded_buffer buf;
    buf.append(res.result_json.data(), res.result_json.size());
    if (eng->parser.find_uint(buf.view(), buf.data() + buf.capacity(), "asyncHandle",
                              res.handle) ||
        res.handle == 0) {
      res.handle = 0;
      res.ec = err(error::unexpected_answer);
      res.error_name = error_name(res.ec);
      res.error_message = "the start method's result has no positive integer asyncHandle";
    }
    co_return res;
  }

  // What an exception out of a call's coroutine (bad_alloc, say) becomes: a
  // failure the caller sees, never a default, "successful", empty result.
  template <class Result>
  static Result failure_from(std::exception_ptr e) {
    Result r;
    r.ec = std::make_error_code(std::errc::state_not_recoverable);
    r.error_name = "exception";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      r.error_message = x.what();
    } catch (...) {
      r.error_message = "unknown exception";
    }
    return r;
  }

  // Completes a co_spawned operation's handler on the handler's own executor
  // (co_spawn itself completes on the client's), with its cancellation slot.
  template <class Result>
  void spawn_op(asio::awaitable<Result> op, asio::any_completion_handler<void(Result)> handler) {
    auto slot = handler.get_cancellation_slot();
    asio::co_spawn(
        executor(), std::move(op),
        asio::bind_cancellation_slot(
            slot, [self = shared_from_this(), h = std::move(handler)](std::exception_ptr e,
                                                                      Result r) mutable {
              if (e) r = failure_from<Result>(e);
              auto ex = asio::get_associated_executor(h, self->executor());
              asio::dispatch(ex, [h = std::move(h), r = std::move(r)]() mutable {
                std::move(h)(std::move(r));
              });
            }));
  }

  void start_and_wait(std::string method, std::string params, call_options copts,
                      std::shared_ptr<const wait_options> wopts,
                      asio::any_completion_handler<void(outcome)> handler) {
    if (wopts->result_type.empty())
      if (const auto type = detail::result_type_of(method); !type.empty()) {
        auto typed = std::make_shared<wait_options>(*wopts);
        typed->result_type = type;
        wopts = std::move(typed);
      }
    auto slot = handler.get_cancellation_slot();
    asio::co_spawn(
        executor(), run_start(std::move(method), std::move(params), std::move(copts)),
        asio::bind_cancellation_slot(
            slot, [self = shared_from_this(), wopts = std::move(wopts),
                   h = std::move(handler)](std::exception_ptr e, start_result s) mutable {
              if (e) s = failure_from<start_result>(e);
              if (!s.ok()) {
                outcome o;
                o.kind = outcome_kind::start_failed;
                o.ec = s.ec;
                o.error_name = std::move(s.error_name);
                o.error_message = std::move(s.error_message);
                o.error_code = s.error_code;
                o.raw_json = std::move(s.error_json);
                self->deliver(std::move(h), std::move(o), false);
                return;
              }
              auto w = std::make_unique<wait_state>(s.handle, std::move(wopts), steady::now(),
                                                    self->eng->rng, std::move(h));
              w->out().start_json = std::move(s.result_json);
              self->start_wait(std::move(w));
            }));
  }

  void shutdown() {
    if (shut_down) return;
    shut_down = true;
    if (wake_timer) wake_timer->cancel();
    while (!sleeping.empty()) {
      wait_state* w = sleeping.pop();
      finish(w, w->machine.on_cancelled());
    }
    // Listed waits without a deadline sleep in no heap.
    while (!listed.empty()) {
      wait_state* w = listed.begin()->second.head;
      finish(w, w->machine.on_cancelled());
    }
    if (lister_timer) lister_timer->cancel();
    while (wait_state* w = ready.pop_front()) finish(w, w->machine.on_cancelled());
    // Releases not yet sent are dropped: the outcomes were delivered, and the
    // results stay on the cluster (its retention cleans up). Shutdown does
    // not wait for them.
    eng->stats.releases_dropped += releases.size();
    releases.clear();
    // Waits in a worker's hands end when their request does: it is cancelled
    // by closing the connections below.
    active.for_each([](active_node* n) { n->timer->cancel(); });
    waiters.for_each([](slot_waiter* w) { w->timer->cancel(); });
    for (auto& c : conns) c->close();
  }
};

client::impl::impl(std::shared_ptr<engine::impl> e, client_config c, endpoint parsed)
    : eng(std::move(e)),
      cfg(std::move(c)),
      ep(std::move(parsed)),
      encoder(ep, cfg.user, cfg.password),
      pool(cfg.pool_size),
      bucket(cfg.rate_limit, cfg.rate_burst),
      fan_in(cfg.fan_in) {
  if (ep.tls) tls_ctx.emplace(detail::make_client_context(cfg.tls));
  for (std::size_t i = 0; i < pool.size(); ++i)
    conns.push_back(std::make_unique<detail::connection>(
        eng->ioc.get_executor(), tls_ctx ? &*tls_ctx : nullptr, ep, cfg.tls, cfg.body_limit));
}

namespace {
endpoint checked_endpoint(const client_config& cfg) {
  std::error_code ec;
  std::string why;
  endpoint ep = parse_endpoint(cfg.url, ec, why);
  if (ec) throw std::system_error(ec, why);
  if (!ep.tls && !cfg.tls.allow_plaintext)
    throw std::system_error(err(error::plaintext_refused),
                            "'" + cfg.url + "' is plain http: credentials would cross the "
                            "network in clear; use https or allow_plaintext");
  auto bad = [](const std::string& what) {
    return std::system_error(err(error::invalid_config), what);
  };
  if (cfg.pool_size == 0 || cfg.pool_size > 1024)
    throw bad("pool_size must be from 1 to 1024 (the cluster allows 1024 sessions in all)");
  if (cfg.request_timeout.count() <= 0) throw bad("request_timeout must be positive");
  if (cfg.release_timeout.count() <= 0) throw bad("release_timeout must be positive");
  if (cfg.rate_limit < 0 || cfg.rate_burst < 0) throw bad("rate_limit and rate_burst must be >= 0");
  if (cfg.body_limit < 1024) throw bad("body_limit must be at least 1024 bytes");
  if (cfg.fan_in.min_interval.count() <= 0 || cfg.fan_in.max_interval < cfg.fan_in.min_interval)
    throw bad("fan_in: min_interval must be positive and max_interval at least min_interval");
  if (cfg.fan_in.list_bytes_per_second < 0 || cfg.fan_in.fallback_for.count() < 0 ||
      cfg.fan_in.failures_before_fallback < 1)
    throw bad("fan_in: list_bytes_per_second and fallback_for must be >= 0, failures_before_fallback >= 1");
  if (const char* why2 = detail::backoff_problem(cfg.reconnect))
    throw bad(std::string("reconnect backoff: ") + why2);
  return ep;
}
}  // namespace

client::client(engine& eng, client_config cfg) {
  endpoint ep = checked_endpoint(cfg);
  impl_ = std::make_shared<impl>(eng.impl_, std::move(cfg), std::move(ep));
}

client::~client() {
  if (impl_) impl_->shutdown();
}

namespace {
// Why a wait's options are unusable, or empty.
std::string options_problem(const wait_options& o) {
  if (const char* why = detail::backoff_problem(o.poll)) return std::string("poll backoff: ") + why;
  if (const char* why = detail::backoff_problem(o.retry)) return std::string("retry backoff: ") + why;
  if (o.deadline.count() < 0) return "deadline must not be negative";
  if (o.gone_confirmations < 0) return "gone_confirmations must not be negative";
  if (o.gone_confirm_delay.count() <= 0) return "gone_confirm_delay must be positive";
  return {};
}

// A wait refused before anything is sent: delivered (never inline) and
// counted like any other outcome.
outcome refused(std::uint64_t handle, const std::string& why) {
  outcome o;
  o.handle = handle;
  o.kind = outcome_kind::failed;
  o.ec = err(error::invalid_config);
  o.error_name = error_name(o.ec);
  o.error_message = "invalid wait_options: " + why;
  return o;
}
}  // namespace

void client::start_wait(std::uint64_t handle, std::shared_ptr<const wait_options> opts,
                        asio::any_completion_handler<void(outcome)> handler) {
  if (!opts) opts = std::make_shared<const wait_options>();
  if (std::string why = options_problem(*opts); !why.empty()) {
    impl_->deliver(std::move(handler), refused(handle, why), false);
    return;
  }
  impl_->start_wait(std::make_unique<wait_state>(handle, std::move(opts), steady::now(),
                                                 impl_->eng->rng, std::move(handler)));
}

void client::start_call(std::string method, std::string params, call_options opts,
                        asio::any_completion_handler<void(call_result)> handler) {
  impl_->spawn_op(impl_->run_call(std::move(method), std::move(params), std::move(opts)),
                  std::move(handler));
}

void client::start_start(std::string method, std::string params, call_options opts,
                         asio::any_completion_handler<void(start_result)> handler) {
  impl_->spawn_op(impl_->run_start(std::move(method), std::move(params), std::move(opts)),
                  std::move(handler));
}

void client::start_start_and_wait(std::string method, std::string params, call_options copts,
                                  std::shared_ptr<const wait_options> wopts,
                                  asio::any_completion_handler<void(outcome)> handler) {
  if (std::string why = options_problem(*wopts); !why.empty()) {
    impl_->deliver(std::move(handler), refused(0, why), false);
    return;
  }
  impl_->start_and_wait(std::move(method), std::move(params), std::move(copts), std::move(wopts),
                        std::move(handler));
}

asio::awaitable<outcome> client::wait(std::uint64_t handle, wait_options opts) {
  return async_wait(handle, std::move(opts), asio::use_awaitable);
}

asio::awaitable<call_result> client::call(std::string method, std::string params_json,
                                          call_options opts) {
  return async_call(std::move(method), std::move(params_json), std::move(opts),
                    asio::use_awaitable);
}

asio::awaitable<start_result> client::start(std::string method, std::string params_json,
                                            call_options opts) {
  return async_start(std::move(method), std::move(params_json), std::move(opts),
                     asio::use_awaitable);
}

asio::awaitable<outcome> client::start_and_wait(std::string method, std::string params_json,
                                                wait_options wopts, call_options copts) {
  return async_start_and_wait(std::move(method), std::move(params_json), std::move(copts),
                              std::move(wopts), asio::use_awaitable);
}

void client::release(std::uint64_t handle) { impl_->queue_release(handle); }

void client::shutdown() { impl_->shutdown(); }

pool_stats client::pool() const noexcept {
  return {impl_->pool.size(), impl_->pool.open(), impl_->pool.busy(), impl_->waiters.size(),
          impl_->releases.size() + impl_->releases_in_flight};
}

const endpoint& client::target() const noexcept { return impl_->ep; }

}  // namespace pollster
