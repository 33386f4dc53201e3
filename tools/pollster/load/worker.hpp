// One shared-nothing worker thread: its io_context, one engine and client per
// cluster (--clusters; its share of the connections), its share of the
// handles, its own counters and latency histogram. The main thread only reads those (relaxed loads) and
// asks it to stop. The closed and the open loop (closed_loop.cpp,
// open_loop.cpp) are what it runs.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "histogram.hpp"
#include "load/counters.hpp"
#include "pollster/pollster.hpp"

namespace pollster::sim {
class server;
}

namespace pollster::cli::load {

using steady = std::chrono::steady_clock;

/// One cluster as a worker sees it.
struct cluster_plan {
  client_config client;
  /// The embedded simulator serving it (nullptr for a --target): it says when
  /// each job completed, for the detection delay. Thread-safe to ask.
  const sim::server* simulator = nullptr;
  /// --jobs against the embedded simulator: the handles of the jobs created
  /// for this worker on this cluster (waited on once each, not replaced).
  std::vector<std::uint64_t> jobs;
};

/// What one cluster's lane counts: engine figures sampled, outcomes counted.
enum class lane_counter : std::size_t {
  requests,   ///< HTTP requests the engine sent (engine.stats().requests, sampled)
  lists,      ///< ListAsyncResults answers read (sampled)
  completed,  ///< outcomes delivered succeeded or task_failed
  count_
};
constexpr std::size_t lane_counter_count = static_cast<std::size_t>(lane_counter::count_);
using lane_counters = std::array<std::uint64_t, lane_counter_count>;

struct worker_plan {
  std::vector<cluster_plan> clusters;  ///< at least one; handles are spread over them
  wait_options wait;
  call_options call;
  purge_policy purge = purge_policy::after_delivery;
  double rate = 0;  ///< open loop: this worker's polls per second
  /// Open loop: no send is due at or after t0 + run_total (the run's end),
  /// so the scheduled count is exact.
  std::chrono::nanoseconds run_total{};
  std::size_t handles = 0;
  /// --jobs: every wait ends the run's part for its handle (no next handle),
  /// and the worker is finished() once they all ended.
  bool fixed_jobs = false;
  // Handle numbers: first + shard + shards * (thread + threads * seq).
  std::uint64_t first_handle = 1, shard = 0, shards = 1, thread = 0, threads = 1;
};

class worker {
 public:
  virtual ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  counters_block live;
  histogram latency;
  /// Detection delay of every outcome delivered (ns), embedded simulator only.
  histogram detection;

  /// One cluster: its engine and client, on this worker's io_context. The
  /// main thread reads `live` and `detection` as it reads the worker's.
  struct lane {
    std::unique_ptr<engine> eng;
    std::unique_ptr<client> cl;
    const sim::server* simulator = nullptr;
    std::vector<std::uint64_t> jobs;
    std::size_t next_job = 0;
    std::unordered_set<std::uint64_t> delivered;  ///< --jobs: handles delivered, to catch a second delivery
    lane_counters live{};
    histogram detection;
  };
  std::vector<std::unique_ptr<lane>> lanes;

  void start(steady::time_point t0);
  /// Thread-safe: asks the worker to stop; join() waits for it.
  void stop();
  void join();
  steady::time_point stopped_at() const { return stopped_at_; }
  const std::string& failure() const { return failure_; }
  /// Set (once) when the worker stopped itself on a fatal error; then
  /// abort_reason() may be read.
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  const std::string& abort_reason() const { return abort_reason_; }
  /// --jobs: every wait of this worker has ended.
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 protected:
  /// Throws (from the client) on a bad configuration.
  explicit worker(worker_plan p);

  /// Runs on the worker thread before the io_context: start the loop.
  virtual void begin() = 0;
  /// Runs on the worker thread when the stop begins (cancel own timers).
  virtual void on_stop() {}
  /// Every HTTP exchange the engine reports (see observe()).
  virtual void on_exchange(const request_event& ev) = 0;

  /// A fatal error (a misconfigured test, see fatal_hint): stop this worker
  /// now; the main thread sees aborted() within 100 ms and stops the others.
  /// True when `ec` was fatal.
  bool abort_if_fatal(std::error_code ec, std::string_view message);
  std::uint64_t next_handle();
  /// The next handle to wait on in `l`: its next created job, or next_handle().
  std::uint64_t next_handle(lane& l);
  /// Counts a delivered completion of `handle` on `l`: its detection delay
  /// when the embedded simulator knows when the job completed.
  void count_delivery(lane& l, std::uint64_t handle);
  void set_finished() { finished_.store(true, std::memory_order_release); }
  void count_error(std::error_code ec);
  static std::size_t error_slot(std::error_code ec);
  void do_stop();

  worker_plan plan_;
  boost::asio::io_context ioc_;
  engine* eng_ = nullptr;  ///< the first lane's (the open loop has only one)
  client* cl_ = nullptr;
  steady::time_point t0_;
  bool stopping_ = false;

 private:
  void run();
  void tick();
  void sample_pool();
  void observe(const request_event& ev);

  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
  steady::time_point stopped_at_;
  std::uint64_t seq_ = 0;
  std::string failure_;
  std::string abort_reason_;
  std::atomic<bool> aborted_{false};
  std::atomic<bool> finished_{false};
  std::unique_ptr<boost::asio::steady_timer> ticker_;
};

/// N waits on the engine, each taking the next handle when its ends.
std::unique_ptr<worker> make_closed_loop(worker_plan p);
/// GetAsyncResult calls on a fixed timetable of plan.rate per second.
std::unique_ptr<worker> make_open_loop(worker_plan p);

/// The error a non-2xx HTTP status stands for. The engine classifies statuses
/// internally and hands the observer only the number; this is the tools' one
/// copy of its mapping, so the report names the same kinds as the engine.
pollster::error status_error(int status) noexcept;

}  // namespace pollster::cli::load
