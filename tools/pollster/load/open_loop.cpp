// Open loop (--rate). Why `client::call` and not `client::wait`: a wait owns
// its own timetable (it sleeps its backoff between polls), so N waits make a
// closed loop whose pace the server's answers set. An open loop needs each
// request to leave at a time fixed in advance, whatever happened to the one
// before. So the scheduler walks a fixed timetable (send i is due at
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
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <vector>

#include "load/async_status.hpp"
#include "load/worker.hpp"

namespace pollster::cli::load {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

class open_loop final : public worker {
 public:
  explicit open_loop(worker_plan p) : worker(std::move(p)) {}
  ~open_loop() override { join(); }

 private:
  std::vector<std::uint64_t> slots_;  // the handle each slot polls
  std::size_t in_flight_ = 0;
  std::unique_ptr<asio::steady_timer> sched_timer_;

  void begin() override {
    for (std::size_t i = 0; i < plan_.handles; ++i) slots_.push_back(next_handle());
    sched_timer_ = std::make_unique<asio::steady_timer>(ioc_);
    asio::co_spawn(ioc_, scheduler(), asio::detached);
  }

  void on_stop() override {
    if (sched_timer_) sched_timer_->cancel();
  }

  // Counted by the senders instead: polls on the timetable apart from the
  // releases, and latency from the timetable.
  void on_exchange(const request_event&) override {}

  asio::awaitable<void> scheduler() {
    const double interval_ns = 1e9 / plan_.rate;
    constexpr std::size_t max_in_flight = 100000;
    // Threads interleave their timetables (thread t is t/T of an interval
    // late) instead of all sending at the same instants.
    const double phase = static_cast<double>(plan_.thread) / static_cast<double>(plan_.threads);
    const auto end = t0_ + plan_.run_total;
    int burst = 0;
    for (std::uint64_t i = 0; !stopping_; ++i) {
      const auto due = t0_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                 std::llround((static_cast<double>(i) + phase) * interval_ns)));
      if (due >= end) break;  // the run is over before it: not scheduled
      if (due > steady::now()) {
        burst = 0;
        sched_timer_->expires_at(due);
        co_await sched_timer_->async_wait(use_nothrow);
        if (stopping_) break;
      } else if (++burst % 64 == 0) {
        co_await asio::post(ioc_, asio::use_awaitable);  // behind: let answers in
        if (stopping_) break;
      }
      inc(live[counter::scheduled]);
      const pool_stats ps = cl_->pool();
      if (steady::now() - due > 1ms || ps.busy >= ps.size || ps.waiting > 0) inc(live[counter::late]);
      if (in_flight_ >= max_in_flight) {
        inc(live[counter::skipped]);
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
    call_result r =
        co_await cl_->call("GetAsyncResult", params(handle, plan_.purge != purge_policy::on_read), plan_.call);
    --in_flight_;
    if (stopping_) co_return;
    inc(live[counter::requests]);
    const auto now = steady::now();
    if (!r.ok()) {
      count_error(r.ec);
      if (abort_if_fatal(r.ec, r.error_message)) co_return;
      if (r.ec == pollster::error::handle_gone) {
        inc(live[counter::gone]);
        if (slots_[slot] == handle) slots_[slot] = next_handle();
      }
      co_return;
    }
    latency.record(static_cast<std::uint64_t>((now - due).count()));
    const async_status st = read_async_status(r.result_json);
    if (!st.complete || slots_[slot] != handle) co_return;  // running, or another send saw it first
    inc(live[counter::completed]);
    inc(live[st.task_error ? counter::task_failed : counter::succeeded]);
    slots_[slot] = next_handle();
    if (plan_.purge == purge_policy::after_delivery) asio::co_spawn(ioc_, release(handle), asio::detached);
  }

  // The release after delivery: not on the timetable, so timed from its send.
  asio::awaitable<void> release(std::uint64_t handle) {
    const auto sent = steady::now();
    call_result r = co_await cl_->call("GetAsyncResult", params(handle, false), plan_.call);
    if (stopping_) co_return;
    inc(live[counter::releases]);
    if (!r.ok()) {
      count_error(r.ec);
      co_return;
    }
    latency.record(static_cast<std::uint64_t>((steady::now() - sent).count()));
  }
};

}  // namespace

std::unique_ptr<worker> make_open_loop(worker_plan p) { return std::make_unique<open_loop>(std::move(p)); }

}  // namespace pollster::cli::load
