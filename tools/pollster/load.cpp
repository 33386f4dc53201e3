// pollster load: keeps N operations outstanding against a cluster (or the
// embedded simulator), or sends R requests/s on a fixed timetable, and reports
// the request rate, completion rate, latency percentiles and errors.
//
// Shape of a run: T worker threads share nothing. Each owns an io_context, an
// engine, a client (its share of the connections) and its share of the
// handles; they record into their own counters and histogram. The main thread
// only samples those once a second (relaxed atomic loads, see histogram.hpp),
// prints progress, stops the workers at the end and merges the result: no lock
// and no allocation on the per-request path.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <latch>
#include <memory>
#include <random>
#include <thread>

#include "command.hpp"
#include "common.hpp"
#include "histogram.hpp"
#include "pollster/pollster.hpp"
#include "pollster/sim/server.hpp"
#include "report_format.hpp"

namespace pollster::cli {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// ------------------------------------------------------------ options

struct load_options {
  std::string url;  // empty: the embedded simulator
  std::string user = "admin";
  std::string password_file;
  tls_flags tls;
  std::uint64_t handles = 1000;
  std::uint64_t connections = 16;
  std::uint64_t threads = 1;
  std::string duration = "10s";
  double rate = 0;
  std::string purge = "after-delivery";
  std::string backoff = "1s:1.5:20s";
  std::string shard = "0/1";
  std::string json_file, html_file;
  double max_p99_ms = -1;
  double max_error_ratio = -1;
  std::string request_timeout = "10s";
  std::uint64_t first_handle = 1;
  std::string sim_job_duration = "lognormal:2s:0.5";
};

/// "10s", "500ms", "2.5s", "2m", "1h", "250us", "10" (seconds).
std::optional<duration> parse_duration(std::string_view text) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p == text.data() || !(v >= 0) || !std::isfinite(v)) return std::nullopt;
  const std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1e9;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ns") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else return std::nullopt;
  const double ns = v * scale;
  if (ns > 1e18) return std::nullopt;
  return duration(static_cast<duration::rep>(std::llround(ns)));
}

/// INITIAL:MULTIPLIER:MAX[:JITTER] ("1s:1.5:20s"), or one DURATION (fixed).
std::optional<backoff_policy> parse_backoff(const std::string& text, std::string& why) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const auto colon = text.find(':', from);
    parts.push_back(text.substr(from, colon == std::string::npos ? std::string::npos : colon - from));
    if (colon == std::string::npos) break;
    from = colon + 1;
  }
  auto number = [](const std::string& s, double& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty() && std::isfinite(out);
  };
  const std::string form = "wants INITIAL:MULTIPLIER:MAX[:JITTER] like 1s:1.5:20s, or one duration like 500ms";
  backoff_policy b;
  b.jitter = 1.0;
  if (parts.size() == 1) {
    auto d = parse_duration(parts[0]);
    if (!d || d->count() <= 0) {
      why = "'" + text + "' " + form;
      return std::nullopt;
    }
    b.initial = b.max_delay = *d;
    b.multiplier = 1.0;
    b.jitter = 0.0;  // fixed: exactly this spacing
  } else if (parts.size() == 3 || parts.size() == 4) {
    auto i = parse_duration(parts[0]);
    auto m = parse_duration(parts[2]);
    if (!i || i->count() <= 0) {
      why = "initial delay '" + parts[0] + "' is not a positive duration (" + form + ")";
      return std::nullopt;
    }
    if (!number(parts[1], b.multiplier) || b.multiplier < 1.0) {
      why = "multiplier '" + parts[1] + "' must be a number >= 1 (" + form + ")";
      return std::nullopt;
    }
    if (!m || *m < *i) {
      why = "maximum '" + parts[2] + "' must be a duration at least the initial delay (" + form + ")";
      return std::nullopt;
    }
    if (parts.size() == 4 && (!number(parts[3], b.jitter) || b.jitter < 0 || b.jitter > 1)) {
      why = "jitter '" + parts[3] + "' must be within [0, 1] (" + form + ")";
      return std::nullopt;
    }
    b.initial = *i;
    b.max_delay = *m;
  } else {
    why = "'" + text + "' " + form;
    return std::nullopt;
  }
  b.min_delay = std::min<duration>(100ms, b.initial);
  return b;
}

/// "K/N" with 0 <= K < N.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_shard(const std::string& text, std::string& why) {
  const auto slash = text.find('/');
  std::uint64_t k = 0, n = 0;
  auto num = [](std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  if (slash == std::string::npos || !num(std::string_view(text).substr(0, slash), k) ||
      !num(std::string_view(text).substr(slash + 1), n) || n == 0 || k >= n || n > 100000) {
    why = "'" + text + "' is not K/N with 0 <= K < N (like 0/4)";
    return std::nullopt;
  }
  return std::pair{k, n};
}

// ------------------------------------------------------------ counters

// Written by one worker thread, read by the main thread while it runs: a
// relaxed store of the incremented value (no locked instruction) and relaxed
// loads. Exact once the worker has stopped.
inline void inc(std::uint64_t& c, std::uint64_t by = 1) noexcept {
  std::atomic_ref<std::uint64_t> r(c);
  r.store(r.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline void put(std::uint64_t& c, std::uint64_t v) noexcept {
  std::atomic_ref<std::uint64_t>(c).store(v, std::memory_order_relaxed);
}
inline std::uint64_t get(const std::uint64_t& c) noexcept {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(c)).load(std::memory_order_relaxed);
}

constexpr std::size_t error_slots = 32;  // indexed by pollster::error

struct counters_block {
  std::uint64_t requests = 0, completed = 0, succeeded = 0, task_failed = 0, gone = 0,
                timed_out = 0, failed = 0, outstanding = 0;
  std::uint64_t scheduled = 0, late = 0, skipped = 0;
  std::uint64_t open_connections = 0, connects = 0, connect_failures = 0;
  std::array<std::uint64_t, error_slots> errors{};
  std::array<std::uint64_t, error_slots> failed_by{};  // waits ended `failed`, by why

  // errors_total as the report counts it: in closed-loop mode the failed
  // connects are errors too (the observer never sees them).
  std::uint64_t errors_total(bool count_connect_failures) const {
    std::uint64_t n = count_connect_failures ? connect_failures : 0;
    for (auto e : errors) n += e;
    return n;
  }
  void load_from(const counters_block& live) {
    requests = get(live.requests);
    completed = get(live.completed);
    succeeded = get(live.succeeded);
    task_failed = get(live.task_failed);
    gone = get(live.gone);
    timed_out = get(live.timed_out);
    failed = get(live.failed);
    outstanding = get(live.outstanding);
    scheduled = get(live.scheduled);
    late = get(live.late);
    skipped = get(live.skipped);
    open_connections = get(live.open_connections);
    connects = get(live.connects);
    connect_failures = get(live.connect_failures);
    for (std::size_t i = 0; i < error_slots; ++i) errors[i] = get(live.errors[i]);
    for (std::size_t i = 0; i < error_slots; ++i) failed_by[i] = get(live.failed_by[i]);
  }
  void add(const counters_block& o) {
    requests += o.requests;
    completed += o.completed;
    succeeded += o.succeeded;
    task_failed += o.task_failed;
    gone += o.gone;
    timed_out += o.timed_out;
    failed += o.failed;
    outstanding += o.outstanding;
    scheduled += o.scheduled;
    late += o.late;
    skipped += o.skipped;
    open_connections += o.open_connections;
    connects += o.connects;
    connect_failures += o.connect_failures;
    for (std::size_t i = 0; i < error_slots; ++i) errors[i] += o.errors[i];
    for (std::size_t i = 0; i < error_slots; ++i) failed_by[i] += o.failed_by[i];
  }
};

// The error a non-2xx HTTP status stands for, as the engine classifies it.
pollster::error status_error(int status) {
  if (status == 401) return pollster::error::unauthorized;
  if (status == 404) return pollster::error::unknown_api_version;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599))
    return pollster::error::http_server_error;
  return pollster::error::unexpected_http_status;
}

// Errors that say the test itself is misconfigured: going on would only
// repeat them (and hammer a cluster with wrong credentials), so the run stops.
const char* fatal_hint(std::error_code ec) {
  if (ec.category() != pollster::category()) return nullptr;
  switch (static_cast<pollster::error>(ec.value())) {
    case pollster::error::unauthorized: return "check --user and the password";
    case pollster::error::certificate_rejected: return "check --ca-file (or pin the certificate with --pin-sha256)";
    case pollster::error::certificate_pin_mismatch: return "check --pin-sha256";
    case pollster::error::unknown_api_version: return "check the API version in --target";
    case pollster::error::permission_denied: return "the user may not call GetAsyncResult";
    case pollster::error::unknown_method: return "the target does not serve GetAsyncResult";
    default: return nullptr;
  }
}

// Top-level members of a GetAsyncResult `result` object: is `status`
// "complete", and is there an `error` member (the task failed)? A small scan
// that skips nested values and strings.
void scan_async_result(std::string_view j, bool& complete, bool& has_error) {
  complete = has_error = false;
  int depth = 0;
  std::size_t i = 0;
  bool expect_key = false;
  std::string_view last_key;
  auto read_string = [&](std::size_t& k) -> std::string_view {
    const std::size_t start = ++k;
    while (k < j.size() && j[k] != '"') k += (j[k] == '\\') ? 2 : 1;
    std::string_view s = j.substr(start, std::min(k, j.size()) - start);
    ++k;
    return s;
  };
  while (i < j.size()) {
    const char c = j[i];
    if (c == '{' || c == '[') {
      ++depth;
      expect_key = (c == '{' && depth == 1);
      ++i;
    } else if (c == '}' || c == ']') {
      --depth;
      ++i;
    } else if (c == ',') {
      expect_key = depth == 1;
      ++i;
    } else if (c == '"') {
      std::string_view s = read_string(i);
      if (depth == 1 && expect_key) {
        last_key = s;
        expect_key = false;
        if (s == "error") has_error = true;
      } else if (depth == 1 && last_key == "status") {
        complete = s == "complete";
      }
    } else {
      ++i;
    }
  }
}

// ------------------------------------------------------------ a worker

struct worker_plan {
  client_config client;
  wait_options wait;
  call_options call;
  purge_policy purge = purge_policy::after_delivery;
  bool open_loop = false;
  double rate = 0;  ///< this worker's sends per second (open loop)
  std::size_t handles = 0;
  // Handle numbers: first + shard + shards * (thread + threads * seq).
  std::uint64_t first_handle = 1, shard = 0, shards = 1, thread = 0, threads = 1;
};

class worker {
 public:
  explicit worker(worker_plan p)
      : plan_(std::move(p)), ioc_(1), guard_(asio::make_work_guard(ioc_)) {
    engine_config ec;
    ec.observer = [this](const request_event& ev) { observe(ev); };
    eng_ = std::make_unique<engine>(ioc_, std::move(ec));
    cl_ = std::make_unique<client>(*eng_, plan_.client);  // throws on a bad configuration
  }
  ~worker() {
    if (thread_.joinable()) thread_.join();
  }

  counters_block live;
  histogram latency;

  void start(steady::time_point t0) {
    t0_ = t0;
    thread_ = std::thread([this] { run(); });
  }
  /// Thread-safe: asks the worker to stop; join() waits for it.
  void stop() {
    asio::post(ioc_, [this] { do_stop(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  steady::time_point stopped_at() const { return stopped_at_; }
  const std::string& failure() const { return failure_; }
  /// Set (once) when the worker stopped itself on a fatal error; then
  /// abort_reason() may be read.
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  const std::string& abort_reason() const { return abort_reason_; }

 private:
  worker_plan plan_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<engine> eng_;
  std::unique_ptr<client> cl_;
  std::thread thread_;
  steady::time_point t0_, stopped_at_;
  bool stopping_ = false;
  std::uint64_t seq_ = 0;
  std::shared_ptr<const wait_options> wait_opts_;
  std::vector<std::uint64_t> slots_;  // open loop: the handle each slot polls
  std::size_t in_flight_ = 0;
  std::string failure_;
  std::string abort_reason_;
  std::atomic<bool> aborted_{false};
  std::unique_ptr<asio::steady_timer> ticker_, sched_timer_;

  // A fatal error (see fatal_hint): stop this worker now; the main thread
  // sees aborted() within 100 ms and stops the others.
  bool abort_if_fatal(std::error_code ec, std::string_view message) {
    const char* hint = fatal_hint(ec);
    if (!hint || stopping_) return hint != nullptr;
    abort_reason_ = "the target answered " + std::string(error_name(ec));
    if (!message.empty()) abort_reason_ += " (" + std::string(message) + ")";
    abort_reason_ += ": ";
    abort_reason_ += hint;
    aborted_.store(true, std::memory_order_release);
    do_stop();
    return true;
  }

  std::uint64_t next_handle() {
    return plan_.first_handle + plan_.shard + plan_.shards * (plan_.thread + plan_.threads * seq_++);
  }
  void count_error(std::error_code ec) {
    const auto i = static_cast<std::size_t>(ec.value());
    if (ec.category() == pollster::category() && i < error_slots) inc(live.errors[i]);
    else inc(live.errors[0]);
  }

  // Every HTTP exchange. Closed loop: the latency histogram and the request
  // errors come from here. Open loop: only the count (latency is measured
  // from the timetable by the sender).
  void observe(const request_event& ev) {
    if (stopping_) return;  // cut off by our own shutdown: not the server's doing
    inc(live.requests);
    if (plan_.open_loop) return;
    if (ev.ec) {
      count_error(ev.ec);
      return;
    }
    if (ev.http_status < 200 || ev.http_status > 299) count_error(make_error_code(status_error(ev.http_status)));
    latency.record(static_cast<std::uint64_t>(ev.latency.count()));
  }

  void sample_pool() {
    put(live.open_connections, cl_->pool().open);
    put(live.connects, eng_->stats().connects);
    put(live.connect_failures, eng_->stats().connect_failures);
  }

  void run() {
    try {
      ticker_ = std::make_unique<asio::steady_timer>(ioc_);
      tick();
      if (plan_.open_loop) {
        for (std::size_t i = 0; i < plan_.handles; ++i) slots_.push_back(next_handle());
        asio::co_spawn(ioc_, scheduler(), asio::detached);
      } else {
        wait_opts_ = std::make_shared<const wait_options>(plan_.wait);
        for (std::size_t i = 0; i < plan_.handles; ++i) start_wait();
      }
      ioc_.run();
    } catch (const std::exception& e) {
      failure_ = e.what();
    }
    // The connection counters are the ones sampled at the stop (do_stop):
    // what the engine does while draining is not part of the test.
  }

  void tick() {
    sample_pool();
    ticker_->expires_after(100ms);
    ticker_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopping_) tick();
    });
  }

  void do_stop() {
    if (stopping_) return;
    sample_pool();
    stopped_at_ = steady::now();
    stopping_ = true;
    ticker_->cancel();
    if (sched_timer_) sched_timer_->cancel();
    cl_->shutdown();  // every wait and call in flight ends `cancelled`
    guard_.reset();   // and run() returns once they have drained
  }

  // Closed loop: one virtual handle. Wait on it with the engine (its backoff,
  // its purge policy) until it ends, then take the next handle number. A
  // callback rather than a coroutine: no frame per handle, and the options
  // are shared by every wait of this worker.
  void start_wait() {
    // The recycling allocator: the completion's type-erased box is reused
    // from a per-thread cache instead of a malloc per wait.
    cl_->async_wait(next_handle(), wait_opts_,
                    asio::bind_allocator(asio::recycling_allocator<void>(),
                                         [this](outcome o) { on_outcome(o); }));
  }
  void on_outcome(const outcome& o) {
    if (stopping_) {
      if (o.kind == outcome_kind::cancelled) inc(live.outstanding);
      return;
    }
    switch (o.kind) {
      case outcome_kind::succeeded: inc(live.completed); inc(live.succeeded); break;
      case outcome_kind::task_failed: inc(live.completed); inc(live.task_failed); break;
      case outcome_kind::gone: inc(live.gone); break;
      case outcome_kind::timed_out: inc(live.timed_out); break;
      case outcome_kind::failed: {
        inc(live.failed);
        const auto i = static_cast<std::size_t>(o.ec.value());
        inc(live.failed_by[o.ec.category() == pollster::category() && i < error_slots ? i : 0]);
        if (abort_if_fatal(o.ec, o.error_message)) return;
        break;
      }
      case outcome_kind::cancelled: break;
    }
    start_wait();
  }

  // Open loop (--rate). Why `client::call` and not `client::wait`: a wait owns
  // its own timetable (it sleeps its backoff between polls), so N waits make
  // a closed loop whose pace the server's answers set. An open loop needs each
  // request to leave at a time fixed in advance, whatever happened to the one
  // before. So this scheduler walks a fixed timetable (send i is due at
  // t0 + i/R) and fires one GetAsyncResult `call` per entry, each on its own
  // coroutine, for the handle of slot i mod N; an answer saying "complete"
  // moves that slot to the next handle number (and releases the result when
  // the purge policy says so). Latency is measured from the entry's due time,
  // not from when the request actually left: when the client or the server
  // falls behind, the wait it caused is counted, the coordinated-omission
  // correction wrk2 makes. A send is "late" when, at its due time, the
  // scheduler was over 1 ms behind or no pooled connection was free (it will
  // queue). Sends are never dropped unless 100000 are already in flight
  // ("skipped": the target has stopped answering).
  asio::awaitable<void> scheduler() {
    sched_timer_ = std::make_unique<asio::steady_timer>(ioc_);
    const double interval_ns = 1e9 / plan_.rate;
    constexpr std::size_t max_in_flight = 100000;
    int burst = 0;
    for (std::uint64_t i = 0; !stopping_; ++i) {
      // Threads interleave their timetables (thread t is t/T of an interval
      // late) instead of all sending at the same instants.
      const double phase = static_cast<double>(plan_.thread) / static_cast<double>(plan_.threads);
      const auto due = t0_ + std::chrono::nanoseconds(
                                 static_cast<std::int64_t>(std::llround((static_cast<double>(i) + phase) * interval_ns)));
      if (due > steady::now()) {
        burst = 0;
        sched_timer_->expires_at(due);
        co_await sched_timer_->async_wait(use_nothrow);
        if (stopping_) break;
      } else if (++burst % 64 == 0) {
        co_await asio::post(ioc_, asio::use_awaitable);  // behind: let answers in
        if (stopping_) break;
      }
      inc(live.scheduled);
      const pool_stats ps = cl_->pool();
      if (steady::now() - due > 1ms || ps.busy >= ps.size || ps.waiting > 0) inc(live.late);
      if (in_flight_ >= max_in_flight) {
        inc(live.skipped);
        continue;
      }
      asio::co_spawn(ioc_, send_one(static_cast<std::size_t>(i % slots_.size()), due), asio::detached);
    }
  }

  static std::string params(std::uint64_t handle, bool keep) {
    std::string p = "{\"asyncHandle\": ";
    p += std::to_string(handle);
    p += keep ? ", \"keepResult\": true}" : ", \"keepResult\": false}";
    return p;
  }

  asio::awaitable<void> send_one(std::size_t slot, steady::time_point due) {
    const std::uint64_t handle = slots_[slot];
    ++in_flight_;
    call_result r = co_await cl_->call("GetAsyncResult", params(handle, plan_.purge != purge_policy::on_read),
                                       plan_.call);
    --in_flight_;
    if (stopping_) co_return;
    const auto now = steady::now();
    if (!r.ok()) {
      count_error(r.ec);
      if (abort_if_fatal(r.ec, r.error_message)) co_return;
      if (r.ec == pollster::error::handle_gone) {
        inc(live.gone);
        if (slots_[slot] == handle) slots_[slot] = next_handle();
      }
      co_return;
    }
    latency.record(static_cast<std::uint64_t>((now - due).count()));
    bool complete = false, task_error = false;
    scan_async_result(r.result_json, complete, task_error);
    if (!complete || slots_[slot] != handle) co_return;  // running, or another send saw it first
    inc(live.completed);
    inc(task_error ? live.task_failed : live.succeeded);
    slots_[slot] = next_handle();
    if (plan_.purge == purge_policy::after_delivery)
      asio::co_spawn(ioc_, release(handle), asio::detached);
  }

  // The release after delivery: not on the timetable, so timed from its send.
  asio::awaitable<void> release(std::uint64_t handle) {
    const auto sent = steady::now();
    call_result r = co_await cl_->call("GetAsyncResult", params(handle, false), plan_.call);
    if (stopping_) co_return;
    if (!r.ok()) {
      count_error(r.ec);
      co_return;
    }
    latency.record(static_cast<std::uint64_t>((steady::now() - sent).count()));
  }
};

// ------------------------------------------------------------ the run

std::uint64_t share(std::uint64_t total, std::uint64_t k, std::uint64_t n) {
  return total / n + (k < total % n ? 1 : 0);
}

json_value jstr(std::string s) {
  json_value v;
  v.kind = json_value::type::string;
  v.text = std::move(s);
  return v;
}
json_value jnum(double d) {
  json_value v;
  v.kind = json_value::type::number;
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 9e15) std::snprintf(buf, sizeof buf, "%.0f", d);
  else std::snprintf(buf, sizeof buf, "%.6g", d);
  v.text = buf;
  return v;
}

std::string random_password() {
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 24; ++i) s += hex[rd() & 15];
  return s;
}

// A report file: written to FILE.partial, renamed to FILE once whole (a
// merge step waiting for FILE never reads half a report). Opened before the
// run so that a typo costs nothing; removed if the run never gets to write it.
class output_file {
 public:
  explicit output_file(std::string path) : path_(std::move(path)), tmp_(path_ + ".partial") {}
  ~output_file() {
    if (out_.is_open()) {
      out_.close();
      std::remove(tmp_.c_str());
    }
  }
  bool open() {
    if (path_.empty()) return true;
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    return static_cast<bool>(out_);
  }
  bool commit(const std::string& text) {
    if (!out_.is_open()) return true;
    out_ << text;
    out_.close();
    if (!out_ || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::cerr << "pollster load: could not write '" << path_ << "'\n";
      std::remove(tmp_.c_str());
      return false;
    }
    return true;
  }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
};

struct snapshot {
  counters_block c;
  histogram h;
};

void take_snapshot(std::vector<std::unique_ptr<worker>>& ws, snapshot& out) {
  out.c = counters_block{};
  out.h.clear();
  histogram tmp;
  for (auto& w : ws) {
    counters_block b;
    b.load_from(w->live);
    out.c.add(b);
    tmp.load_from(w->latency);
    out.h.merge(tmp);
  }
}

// Waits until `until`, a SIGINT/SIGTERM (blocked in every thread, so they
// arrive here), or a worker that stopped itself on a fatal error (checked
// every 100 ms).
enum class woke { time, signal, abort };
woke wait_until(steady::time_point until, const sigset_t& set,
                const std::vector<std::unique_ptr<worker>>& workers) {
  for (;;) {
    for (const auto& w : workers)
      if (w->aborted()) return woke::abort;
    const auto left = until - steady::now();
    if (left <= 0ns) return woke::time;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::min<steady::duration>(left, 100ms)).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    if (::sigtimedwait(&set, nullptr, &ts) > 0) return woke::signal;
  }
}

int run_load(load_options& opt) {
  const char* me = "pollster load: ";
  auto usage = [&](const std::string& why) {
    std::cerr << me << why << "\n";
    return exit_usage;
  };
  // --- the command line, checked before anything starts ---
  auto run_for = parse_duration(opt.duration);
  if (!run_for || run_for->count() <= 0) return usage("--duration wants a positive duration like 10s or 500ms, not '" + opt.duration + "'");
  auto req_timeout = parse_duration(opt.request_timeout);
  if (!req_timeout || req_timeout->count() <= 0)
    return usage("--request-timeout wants a positive duration like 10s, not '" + opt.request_timeout + "'");
  std::string why;
  auto backoff = parse_backoff(opt.backoff, why);
  if (!backoff) return usage("--backoff: " + why);
  auto shard = parse_shard(opt.shard, why);
  if (!shard) return usage("--shard: " + why);
  const auto [K, N] = *shard;
  const std::uint64_t my_handles = share(opt.handles, K, N);
  const std::uint64_t my_conns = share(opt.connections, K, N);
  if (my_handles < opt.threads)
    return usage("--handles " + std::to_string(opt.handles) + " leaves this shard " + std::to_string(my_handles) +
                 " handles for " + std::to_string(opt.threads) + " threads: give at least one per thread");
  if (my_conns < opt.threads)
    return usage("--connections " + std::to_string(opt.connections) + " leaves this shard " +
                 std::to_string(my_conns) + " connections for " + std::to_string(opt.threads) +
                 " threads: give at least one per thread");
  const bool embedded = opt.url.empty();
  if (embedded && (!opt.tls.ca_file.empty() || !opt.tls.pin_sha256.empty() || opt.tls.insecure ||
                   opt.tls.allow_plaintext || !opt.password_file.empty()))
    return usage("--ca-file, --pin-sha256, --insecure, --allow-plaintext and --password-file need --target "
                 "(the embedded simulator's certificate is pinned and its password generated)");
  std::optional<sim::duration_dist> job_dist;
  if (embedded) {
    job_dist = sim::duration_dist::parse(opt.sim_job_duration, why);
    if (!job_dist) return usage("--sim-job-duration: " + why);
  }
  auto purge = parse_purge(opt.purge);
  if (!purge) return usage("--purge wants after-delivery, never or on-read, not '" + opt.purge + "'");

  // Files are opened now, so that a typo costs nothing.
  output_file json_out(opt.json_file), html_out(opt.html_file);
  if (!json_out.open()) return usage("cannot write --json file '" + opt.json_file + "'");
  if (!html_out.open()) return usage("cannot write --html file '" + opt.html_file + "'");

  // SIGINT/SIGTERM: blocked in every thread (the simulator's and the workers'
  // inherit the mask); the main thread takes them with sigtimedwait and stops
  // the run early, still reporting.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // A peer that closed first must be an error code, not the end of the
  // process: OpenSSL's close_notify goes out with a plain write().
  ::signal(SIGPIPE, SIG_IGN);

  // --- the target ---
  std::unique_ptr<sim::server> simulator;
  client_config base;
  base.user = opt.user;
  base.pool_size = 0;
  base.request_timeout = *req_timeout;
  if (embedded) {
    sim::config sc;
    sc.user = opt.user;
    sc.password = random_password();
    sc.auto_jobs = true;
    sc.job_duration = *job_dist;
    sc.seed = static_cast<std::uint64_t>(std::random_device{}()) | 1;
    try {
      simulator = std::make_unique<sim::server>(sc);
      simulator->start();
    } catch (const std::exception& e) {
      std::cerr << me << "cannot start the embedded simulator: " << e.what() << "\n";
      return exit_incomplete;
    }
    base.url = simulator->url();
    base.password = sc.password;
    base.tls.pin_sha256 = simulator->certificate_sha256();
  } else {
    auto password = read_password(opt.password_file, why);
    if (!password) return usage(why);
    base.url = opt.url;
    base.password = std::move(*password);
    base.tls = opt.tls.to_options();
  }

  // --- the workers: constructing their clients checks the URL and TLS files ---
  std::vector<std::unique_ptr<worker>> workers;
  const std::uint64_t T = opt.threads;
  for (std::uint64_t t = 0; t < T; ++t) {
    worker_plan p;
    p.client = base;
    p.client.pool_size = share(my_conns, t, T);
    p.wait.poll = *backoff;
    p.wait.purge = *purge;
    p.wait.deadline = std::max<duration>(1h, 2 * *run_for);
    // One send is one request: a retry backoff longer than the deadline ends
    // the call at its first failure (the open loop's timetable does retries).
    p.call.deadline = *req_timeout;
    p.call.retry = backoff_policy{.initial = 24h, .multiplier = 1.0, .max_delay = 24h, .jitter = 0, .min_delay = 24h};
    p.purge = *purge;
    p.open_loop = opt.rate > 0;
    p.rate = opt.rate / static_cast<double>(N * T);
    p.handles = share(my_handles, t, T);
    p.first_handle = opt.first_handle;
    p.shard = K;
    p.shards = N;
    p.thread = t;
    p.threads = T;
    try {
      workers.push_back(std::make_unique<worker>(std::move(p)));
    } catch (const std::exception& e) {
      return usage(e.what());
    }
  }
  base.password.assign(base.password.size(), '\0');

  // --- run ---
  const bool open_loop = opt.rate > 0;
  const bool tty = ::isatty(STDERR_FILENO);
  const double started_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto t0 = steady::now();
  for (auto& w : workers) w->start(t0);
  const auto end = t0 + *run_for;
  snapshot older, prev, cur;  // at the start and end of the last interval, and now
  load_report rep;
  auto older_at = t0, prev_at = t0;
  bool interrupted = false, aborted = false;
  auto make_interval = [&](const snapshot& from, steady::time_point from_at, const snapshot& to,
                           steady::time_point to_at) {
    interval iv;
    iv.t = std::chrono::duration<double>(to_at - t0).count();
    iv.dt = std::chrono::duration<double>(to_at - from_at).count();
    iv.requests = to.c.requests - from.c.requests;
    iv.completed = to.c.completed - from.c.completed;
    iv.errors = to.c.errors_total(!open_loop) - from.c.errors_total(!open_loop);
    iv.open_connections = to.c.open_connections;
    const histogram d = to.h.since(from.h);
    iv.buckets = d.sparse();
    iv.max_ns = d.max();
    return iv;
  };
  for (int second = 1;; ++second) {
    const auto next = std::min(t0 + std::chrono::seconds(second), end);
    const woke why_woke = wait_until(next, sigs, workers);
    if (why_woke == woke::signal) {
      interrupted = true;
      break;
    }
    if (why_woke == woke::abort) {
      aborted = true;
      break;
    }
    if (next >= end) break;
    take_snapshot(workers, cur);
    rep.series.push_back(make_interval(prev, prev_at, cur, next));
    const interval& iv = rep.series.back();
    const histogram d = iv.latency();
    char line[320];
    int n = std::snprintf(line, sizeof line,
                          "%4ds  %9.0f req/s  %8.0f completed/s  p50 %-9s p99 %-9s errors %-6llu conns %llu",
                          second, iv.requests / iv.dt, iv.completed / iv.dt, format_latency(d.percentile(50)).c_str(),
                          format_latency(d.percentile(99)).c_str(),
                          static_cast<unsigned long long>(cur.c.errors_total(!open_loop)),
                          static_cast<unsigned long long>(iv.open_connections));
    if (open_loop && n > 0 && static_cast<std::size_t>(n) < sizeof line)
      std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "  late %llu",
                    static_cast<unsigned long long>(cur.c.late));
    if (tty) std::fprintf(stderr, "\r%s\x1b[K", line);
    else std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
    older = std::move(prev);
    older_at = prev_at;
    prev = cur;
    prev_at = next;
  }
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();
  if (tty) std::fputc('\n', stderr);
  if (interrupted) std::cerr << me << "interrupted: reporting what was measured so far\n";
  std::string abort_reason;
  for (auto& w : workers)
    if (w->aborted() && abort_reason.empty()) abort_reason = w->abort_reason();
  for (auto& w : workers)
    if (!w->failure().empty()) std::cerr << me << "a worker failed: " << w->failure() << "\n";
  steady::time_point stopped = t0;
  for (auto& w : workers) stopped = std::max(stopped, w->stopped_at());

  // The last interval, exact now that the workers have stopped. A short tail
  // (under half a second) is folded into the interval before it.
  take_snapshot(workers, cur);
  if (!rep.series.empty() && stopped - prev_at < 500ms) {
    rep.series.pop_back();
    rep.series.push_back(make_interval(older, older_at, cur, stopped));
  } else {
    rep.series.push_back(make_interval(prev, prev_at, cur, stopped));
  }

  // --- the report ---
  const counters_block& c = cur.c;
  rep.mode = open_loop ? "rate" : "closed";
  rep.started_at_unix = started_unix;
  rep.duration_s = std::chrono::duration<double>(stopped - t0).count();
  rep.requests = c.requests;
  rep.completed = c.completed;
  rep.succeeded = c.succeeded;
  rep.task_failed = c.task_failed;
  rep.gone = c.gone;
  rep.timed_out = c.timed_out;
  rep.failed = c.failed;
  rep.outstanding = c.outstanding;
  for (std::size_t i = 0; i < error_slots; ++i)
    if (c.errors[i])
      rep.errors[i ? std::string(error_name(make_error_code(static_cast<pollster::error>(i)))) : "other"] +=
          c.errors[i];
  if (!open_loop && c.connect_failures) rep.errors["connect_failed"] += c.connect_failures;
  rep.connects = c.connects;
  rep.connect_failures = c.connect_failures;
  rep.reconnects = c.connects > my_conns ? c.connects - my_conns : 0;
  rep.rate_target = opt.rate / static_cast<double>(N);
  rep.scheduled = c.scheduled;
  rep.late = c.late;
  rep.skipped = c.skipped;
  rep.latency = cur.h;
  json_value& P = rep.parameters;
  P.kind = json_value::type::object;
  P.members = {{"target", jstr(embedded ? "embedded simulator" : opt.url)},
               {"handles", jnum(static_cast<double>(opt.handles))},
               {"connections", jnum(static_cast<double>(opt.connections))},
               {"threads", jnum(static_cast<double>(opt.threads))},
               {"duration_s", jnum(std::chrono::duration<double>(*run_for).count())},
               {"rate", jnum(opt.rate)},
               {"shard", jstr(std::to_string(K) + "/" + std::to_string(N))},
               {"shard_handles", jnum(static_cast<double>(my_handles))},
               {"shard_connections", jnum(static_cast<double>(my_conns))},
               {"purge", jstr(opt.purge)},
               {"backoff", jstr(opt.backoff)},
               {"request_timeout", jstr(opt.request_timeout)},
               {"first_handle", jnum(static_cast<double>(opt.first_handle))},
               {"user", jstr(opt.user)}};
  if (embedded) P.members.emplace_back("sim_job_duration", jstr(opt.sim_job_duration));
  if (interrupted) P.members.emplace_back("interrupted", json_value{json_value::type::boolean, true, {}, {}, {}});
  if (!abort_reason.empty()) P.members.emplace_back("stopped_early", jstr(abort_reason));
  for (std::size_t i = 0; i < error_slots; ++i)
    if (c.failed_by[i])
      rep.failed_by[i ? std::string(error_name(make_error_code(static_cast<pollster::error>(i)))) : "other"] +=
          c.failed_by[i];

  std::cout << to_table(rep);
  std::cout.flush();
  bool written = json_out.commit(to_json(rep));
  written = html_out.commit(to_html(rep)) && written;
  if (simulator) simulator->stop();

  int rc = written ? exit_ok : exit_incomplete;
  if (!abort_reason.empty()) {
    std::cerr << me << "FAILED: stopped early: " << abort_reason << "\n";
    rc = exit_incomplete;
  } else if (rep.requests == 0) {
    std::cerr << me << "FAILED: no request was answered (see the errors above)\n";
    rc = exit_incomplete;
  }
  if (auto reason = check_thresholds(rep, opt.max_p99_ms, opt.max_error_ratio)) {
    std::cerr << me << "FAILED: " << *reason << "\n";
    rc = exit_incomplete;
  }
  // The reports of an interrupted run are written, but a script must not
  // take the run for a finished one.
  if (interrupted) rc = exit_interrupted;
  return rc;
}

}  // namespace

command add_load_command(CLI::App& parent) {
  auto opt = std::make_shared<load_options>();
  CLI::App* app = parent.add_subcommand(
      "load", "Load test: keep N operations outstanding (or send R requests/s) and report rate, latency, errors");
  app->add_option("--target", opt->url,
                  "https://HOST[:PORT]/json-rpc/VERSION (default: start the embedded simulator)");
  app->add_option("--user", opt->user, "cluster admin user (default admin)");
  app->add_option("--password-file", opt->password_file,
                  "file whose first line is the password (default: $POLLSTER_PASSWORD); with --target");
  opt->tls.add_to(*app);
  app->add_option("--handles", opt->handles, "operations kept outstanding, in all shards (default 1000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000}));
  app->add_option("--connections", opt->connections, "connections in all, over all shards (default 16)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1024}));
  app->add_option("--duration", opt->duration, "how long to run: 10s, 500ms, 2m (default 10s)");
  app->add_option("--rate", opt->rate,
                  "open loop: requests per second in all, on a fixed timetable (default: closed loop)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--purge", opt->purge, "after-delivery (default) | never (no release request) | on-read");
  app->add_option("--backoff", opt->backoff,
                  "poll spacing INITIAL:MULTIPLIER:MAX[:JITTER] (default 1s:1.5:20s), or one fixed DURATION");
  app->add_option("--threads", opt->threads, "shared-nothing worker threads (default 1)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{256}));
  app->add_option("--shard", opt->shard, "K/N: this process is shard K of N (default 0/1)");
  app->add_option("--json", opt->json_file, "write the report as JSON to FILE");
  app->add_option("--html", opt->html_file, "write a self-contained HTML report with charts to FILE");
  app->add_option("--max-p99", opt->max_p99_ms, "exit 1 when the p99 latency is above MS milliseconds")
      ->check(CLI::PositiveNumber);
  app->add_option("--max-error-ratio", opt->max_error_ratio,
                  "exit 1 when errors/requests (or failed/ended operations) is above X")
      ->check(CLI::Range(0.0, 1e9));
  app->add_option("--request-timeout", opt->request_timeout, "bound on one request (default 10s)");
  app->add_option("--first-handle", opt->first_handle, "lowest handle number used (default 1)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 52));
  app->add_option("--sim-job-duration", opt->sim_job_duration,
                  "embedded simulator: how long jobs run, 2s | uniform:1s:5s | lognormal:2s:0.5 (default "
                  "lognormal:2s:0.5; 0s answers complete at once: a max-rate test)");
  return {app, [opt] { return run_load(*opt); }};
}

}  // namespace pollster::cli
