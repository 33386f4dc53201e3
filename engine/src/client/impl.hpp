// client::impl, the state of one client shared by its coroutines, and the
// plain data they pass around. Private to the engine: its units are
// request_path.cpp, scheduler.cpp, lister.cpp and calls.cpp (the I/O around
// the decision classes of poller/ and transport/), with client.cpp the public
// facade. See docs/architecture.md for the path of one poll. Only
// request_path.cpp sees the connection (Beast, OpenSSL): the other units
// compile without those headers.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "detail/intrusive_heap.hpp"
#include "detail/intrusive_list.hpp"
#include "engine_impl.hpp"
#include "pollster/client.hpp"
#include "pollster/error.hpp"
#include "poller/fan_in.hpp"
#include "poller/scheduler_rules.hpp"
#include "poller/token_bucket.hpp"
#include "poller/wait_machine.hpp"
#include "protocol/answer_parser.hpp"
#include "protocol/classify.hpp"
#include "protocol/request_encoder.hpp"
#include "protocol/padded_buffer.hpp"
#include "transport/frame_memory.hpp"
#include "transport/handler_memory.hpp"
#include "transport/pool_state.hpp"

namespace boost::asio::ssl {
class context;
}

namespace pollster {

namespace detail {
class connection;
}

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using time_point = steady::time_point;
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

inline std::error_code err(pollster::error e) { return make_error_code(e); }

namespace detail {

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

// A wait's outcome and its way to the caller, in one block: taken when the
// wait first has something to say (most waits: at completion), filled in
// place and posted as it is, so the outcome is not moved between the answer
// and the handler. From frame_memory: a delivery lives from an answer to its
// handler's return, which many connections' answers overlap.
struct delivery {
  static void* operator new(std::size_t n) { return frame_memory::allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_memory::deallocate(p, n); }

  asio::any_completion_handler<void(outcome)> handler;
  outcome out;
  bool release = false;      // after_delivery: release once the handler returned
  bool cancel_seen = false;  // the caller asked to cancel while it was on its way
};

// One handle being waited for. Lives in exactly one place at a time: the
// sleep heap, the ready FIFO, or a worker's hands.
struct wait_state : detail::list_hook<wait_state> {
  wait_state(std::uint64_t h, std::shared_ptr<const wait_options> o, time_point now, detail::rng& r,
             detail::completion_model* model, asio::any_completion_handler<void(outcome)> done)
      : handle(h), opts(std::move(o)), machine(*opts, now, r, model), handler(std::move(done)) {}

  outcome& out() {  // allocated only when there is something to say
    if (!result) {
      result = std::make_unique<delivery>();
      result->out.handle = handle;
    }
    return result->out;
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
  std::unique_ptr<delivery> result;
};

// Writes one request's bytes into a buffer, given its JSON-RPC id. Not owned,
// and no allocation per request (std::function_ref is C++26): it points at
// the caller's lambda, a temporary that lives until the end of the
// `co_await send(...)` expression, i.e. as long as the request.
class request_builder {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, request_builder>)
  request_builder(F&& f) noexcept  // NOLINT: implicit, from a lambda
      : ctx_(static_cast<void*>(&f)),
        fn_([](void* c, std::string& buf, std::uint64_t id) {
          (*static_cast<std::remove_reference_t<F>*>(c))(buf, id);
        }) {}
  void operator()(std::string& buf, std::uint64_t id) const { fn_(ctx_, buf, id); }

 private:
  void* ctx_;
  void (*fn_)(void*, std::string&, std::uint64_t);
};

}  // namespace detail

struct client::impl : std::enable_shared_from_this<client::impl> {
  using wait_state = detail::wait_state;
  using slot_waiter = detail::slot_waiter;
  using active_node = detail::active_node;
  using idle_worker = detail::idle_worker;

  impl(std::shared_ptr<engine::impl> e, client_config c, endpoint parsed);
  ~impl();  // in request_path.cpp, where the connection is a complete type

  std::shared_ptr<engine::impl> eng;
  client_config cfg;
  endpoint ep;
  std::unique_ptr<asio::ssl::context> tls_ctx;  // https only
  detail::request_encoder encoder;
  detail::pool_state pool;
  std::vector<std::unique_ptr<detail::connection>> conns;
  detail::token_bucket bucket;
  // When this cluster's jobs complete, by age: the polls of waits without
  // progress go where completions are due (poller/completion_model.hpp).
  detail::completion_model completions;
  detail::intrusive_list<slot_waiter> waiters;
  detail::intrusive_list<active_node> active;
  // The waits: sleeping (by wake time), due (FIFO), and the idle workers.
  detail::intrusive_heap<wait_state> sleeping;
  detail::intrusive_list<wait_state> ready;
  detail::intrusive_list<idle_worker> idle;
  std::size_t workers = 0;
  std::size_t live_waits = 0;
  std::size_t deliveries_pending = 0;  // posted, not yet handed over (detail::work_queues)
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
    /// The answer's body (request_path.cpp: the connection's receive buffer).
    const detail::padded_buffer& body() const;
    /// The answer has been acted on: a big body's memory goes back now.
    void trim_body() noexcept;
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
    lease held;  // set when an answer arrived: its body is held.body()
  };

  bool stopping(const asio::cancellation_state& cs) const {
    return shut_down || cs.cancelled() != asio::cancellation_type::none;
  }

  bool use_list(time_point now) { return fan_in.use_list(now, live_waits, poll_spacing()); }
  // The queues as poller/scheduler_rules sees them.
  detail::work_queues queues() const {
    return {!ready.empty(), releases.size(), releases_in_flight, live_waits, pool.size(), deliveries_pending};
  }
  bool release_ready() const { return detail::release_may_go(queues()); }

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

    // The list_sink the parser calls (lister.cpp).
    static bool wants(void* ctx, std::uint64_t id, bool completed);
    static void entry(void* ctx, const detail::list_entry_view& e);
  };

  // One outcome on its way to the caller.
  using delivery = detail::delivery;

  // --- request_path.cpp: the lease, one request, reading a poll's answer ---

  void release_slot(std::size_t slot);

  // Once no connection is busy, none may keep a deadline timer pending: one
  // released while waits were due may not have been picked again.
  void stop_idle_watchdogs();

  asio::awaitable<std::error_code> sleep_until(asio::steady_timer& timer, time_point at);

  // No connection free now: waits for one to be handed over (FIFO).
  asio::awaitable<std::optional<std::size_t>> wait_for_slot(asio::steady_timer& timer,
                                                            time_point deadline, std::error_code& ec);

  void observe(request_event::kind k, time_point sent, const std::error_code& ec, int status);

  // One request: rate limit, borrow a connection (connecting it if needed),
  // send, read. `build` writes the request bytes into the given string.
  // `w`: the wait this request polls for, if any: it can then be cancelled
  // promptly (its connection closed, its sleep cut short).
  asio::awaitable<attempt> send(asio::steady_timer& timer, time_point deadline,
                                request_event::kind kind, detail::request_builder build,
                                wait_state* w = nullptr);

  // "HTTP 429: server error or overload (retried)": the status itself,
  // always (408, 429 and 5xx share one error code).
  static std::string http_message(int status, std::error_code ec);

  // An answer whose id is not the request's was not asked for (a replaying
  // proxy, bytes left from an earlier exchange): its connection cannot be
  // trusted for the next answer either, so it is closed.
  bool unasked(attempt& a, const detail::envelope_view& env);

  static std::string unasked_message(const attempt& a, const detail::envelope_view& env);

  // A failure in pollster's words (transport, HTTP, answer): ec and message.
  static void note_error(outcome& out, std::error_code ec, std::string_view message);

  // A method error the cluster answered: ec and the method_error part.
  static void note_method_error(outcome& out, std::error_code ec,
                                const detail::method_error_view& e);

  // A completed task as one view shows it: GetAsyncResult's answer
  // (request_path.cpp) or a ListAsyncResults entry (lister.cpp).
  struct completion_view {
    bool task_failed = false;
    std::string_view result_type, create_time, last_update_time;
    std::string_view data;  // the `result` member, or the task's `error` object
    std::string_view error_name, error_message;  // task_failed only
  };
  // ec, the result part and (task_failed) the task_error part, from either
  // view: one fill for both paths.
  static void note_completion(outcome& out, const completion_view& c);

  // A classified failure of a wait's poll, told to its machine (and counted).
  detail::wait_machine::action failed(wait_state& w, time_point now, detail::verdict v,
                                      duration retry_after = {});

  // Reads one answer to GetAsyncResult and lets the machine decide. A
  // "running" answer touches only w.last_details (its capacity is reused).
  detail::wait_machine::action on_answer(attempt& a, wait_state& w);

  // What to close or cancel to end a wait's request at once: its connection
  // (the pending I/O completes with an error), else its timer (a queue or
  // rate wait).
  static void cut_request(wait_state& w);
  void close_connections();

  // --- lister.cpp: fan-in, one ListAsyncResults per tick for every listed wait ---

  // How often a wait would be polled on its own: twice its poll backoff's
  // first delay, on average over the waits (the default, 1 s x 1.5^n,
  // averages about 2 s over jobs of 2-20 s: the loop fan-in competes with).
  duration poll_spacing() const;

  void count_type(const wait_state& w, int delta);

  // Into the list index; it sleeps in the heap only for its deadline.
  void list_wait(wait_state* w);

  void unlist(wait_state* w);

  // Every listed wait, out of the index and the heap, for the caller to
  // place (user code may run meanwhile: the index is not walked while used).
  std::vector<wait_state*> take_listed();

  // Every listed wait goes back to polling on its own (automatic fell back,
  // or a list no longer pays): first polls spread over a second, not a burst.
  void unlist_all(time_point now);

  void ensure_lister();

  // The request: every result, or only the types the waits are of.
  void build_list(std::string& buf, std::uint64_t id);

  // The outcome of a completed entry: `data` is the result or the task's
  // error, by `success`; raw_answer is GetAsyncResult's shape rebuilt from
  // the entry (keys sorted as a cluster sorts them), values byte for byte.
  static void outcome_from_entry(outcome& out, const detail::list_entry_view& e);

  // A list that failed: noted for the waits' outcomes, told to the policy.
  // `fatal` (an HTTP status or method error that a resend cannot change:
  // 401, a redirect, an unknown method): automatic falls back at once, and
  // the per-handle polls then end each wait as they would have anyway; a
  // forced list mode ends its waits failed, with that error.
  void list_failed(time_point now, const std::string& why, std::chrono::seconds retry_after,
                   std::error_code fatal = {});

  asio::awaitable<void> run_lister();

  // Acts on a clean list answer: completed entries end their waits, running
  // ones tell progress, and waits whose entry was absent are confirmed per
  // handle (never existed, purged by someone else, a filtered or truncated
  // list): a GetAsyncResult says complete, running or gone.
  void on_list_answer(list_pass& pass, const char* buffer_end);

  // A staged entry's fields into a wait's outcome (which may hold start_json
  // or an earlier error): moved into the last wait of the handle's chain.
  static void take_entry(outcome& out, outcome& staged, bool last);

  // --- scheduler.cpp: sleeping heap, ready FIFO, workers, cancel, finish, deliver ---

  void start_wait(std::unique_ptr<wait_state> owned);

  void apply(wait_state* w, detail::wait_machine::action act);

  void make_ready(wait_state* w);

  void wake_a_worker();

  void arm_wake_timer();

  void on_wake();

  void ensure_workers();

  // Nothing left to poll or release: idle workers end, so the io_context drains.
  void maybe_drain();

  asio::awaitable<void> run_worker();

  asio::awaitable<void> poll_once(asio::steady_timer& timer, wait_state& w);

  void cancel_wait(wait_state* w);

  // Every ending is counted here once, so the counters add up to the outcomes.
  void count(outcome_kind k);

  // Never inline: any_completion_executor has no blocking.never in Boost
  // 1.81 (prefer() was a no-op), so the outcome is first posted to the
  // io_context — the initiating call has returned and the stack is flat —
  // then dispatched to the handler's own executor. The release follows the
  // handler's return, unless a cancellation arrived while the outcome was on
  // its way: the caller may then have dropped it (awaitable operator|| does),
  // and the result stays on the cluster rather than being lost.
  void deliver(asio::any_completion_handler<void(outcome)> handler, outcome out, bool release);
  void deliver(std::unique_ptr<delivery> d);
  void hand_over(delivery& d);

  static void note_ending(outcome& out, error why);

  // Builds the outcome, frees the wait, and delivers it.
  void finish(wait_state* w, detail::wait_machine::action act);

  void queue_release(std::uint64_t handle);

  void shutdown();

  // --- calls.cpp: releases, calls, start, start_and_wait (call_machine decides the retries) ---

  asio::awaitable<void> release_once(asio::steady_timer& timer, std::uint64_t handle);

  asio::awaitable<call_result> run_call(std::string method, std::string params, call_options opts);

  // A start method's answer: its asyncHandle, read from the result object.
  asio::awaitable<start_result> run_start(std::string method, std::string params,
                                          call_options opts);

  // Completes a co_spawned operation's handler on the handler's own executor
  // (co_spawn itself completes on the client's), with its cancellation slot.
  template <class Result>
  void spawn_op(asio::awaitable<Result> op, asio::any_completion_handler<void(Result)> handler);

  void start_call(std::string method, std::string params, call_options opts,
                  asio::any_completion_handler<void(call_result)> handler);
  void start_start(std::string method, std::string params, call_options opts,
                   asio::any_completion_handler<void(start_result)> handler);

  void start_and_wait(std::string method, std::string params, call_options copts,
                      std::shared_ptr<const wait_options> wopts,
                      asio::any_completion_handler<void(outcome)> handler);
};

}  // namespace pollster

ENGINE_POOLED_FRAMES(pollster::client::impl);
