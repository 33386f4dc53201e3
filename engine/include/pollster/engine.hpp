// The engine: what every cluster client on one io_context shares — the JSON
// parser, the jitter source, the counters, the request observer. Single
// threaded: use it, and its clients, from the io_context's one thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

namespace pollster {

/// Counters since the engine started (monotonic).
struct counters {
  std::uint64_t requests = 0;          ///< HTTP requests sent (polls, releases, calls)
  std::uint64_t answers = 0;           ///< HTTP answers read whole
  std::uint64_t running_answers = 0;   ///< GetAsyncResult answers saying "running"
  // Every wait's ending is counted once, in exactly one of completed, gone,
  // timed_out, failed, cancelled, start_failed.
  std::uint64_t completed = 0;         ///< waits that ended succeeded or task_failed
  std::uint64_t gone = 0;              ///< waits that ended gone
  std::uint64_t timed_out = 0;         ///< waits that ended timed_out
  std::uint64_t failed = 0;            ///< waits that ended failed
  std::uint64_t cancelled = 0;         ///< waits that ended cancelled
  std::uint64_t transient_errors = 0;  ///< retried failures (transport, 5xx, retryable method errors)
  std::uint64_t connects = 0;          ///< connections established
  std::uint64_t connect_failures = 0;  ///< connects (TCP or TLS) that failed
  std::uint64_t start_failed = 0;      ///< start_and_wait outcomes whose start method failed
  std::uint64_t releases = 0;          ///< keepResult=false releases answered
  std::uint64_t releases_dropped = 0;  ///< releases not sent: the client shut down first
  std::uint64_t unasked_answers = 0;   ///< answers whose id was not the request's (connection closed)
  std::uint64_t lists = 0;             ///< ListAsyncResults answers read (fan-in ticks)
  std::uint64_t list_entries = 0;      ///< entries in them, ours or not
  std::uint64_t list_fallbacks = 0;    ///< times fan_in automatic went back to per-handle polls
};

/// One finished HTTP exchange, for observers (the load tool's histograms).
struct request_event {
  /// Which request it was: a GetAsyncResult poll, a release, a call, a list.
  enum class kind { poll, release, call, list } what = kind::poll;
  std::chrono::steady_clock::time_point sent;  ///< when the request was handed to the pool
  std::chrono::nanoseconds latency{};          ///< from `sent` to the whole answer
  std::error_code ec;                          ///< empty when an answer arrived
  int http_status = 0;                         ///< the answer's status; 0 without an answer
};

/// What an engine is built with.
struct engine_config {
  /// Seed of the jitter source; 0: from std::random_device.
  std::uint64_t seed = 0;
  /// Called after each exchange; keep it cheap (it runs on the hot path).
  std::function<void(const request_event&)> observer;
};

/// Shared by every client on one io_context: one per io_context, created
/// before its clients (they share its state, so it may go before them).
class engine {
 public:
  /// Runs on `ioc` (it must outlive the engine).
  explicit engine(boost::asio::io_context& ioc, engine_config cfg = {});
  /// Clients still alive keep the shared state (parser, counters) alive.
  ~engine();
  /// Not copyable: clients hold a reference to it.
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// The io_context everything runs on (handlers without an executor of
  /// their own are dispatched here).
  boost::asio::io_context& context() noexcept;
  /// The counters of every client of this engine, since it started.
  const counters& stats() const noexcept;

  /// The simdjson implementation the parser runs ("haswell", ...; never
  /// "fallback" on x86-64 unless built with POLLSTER_SIMD_FLAGS empty).
  static std::string_view json_implementation() noexcept;
  /// "simdjson 3.0.1"
  static std::string_view json_library() noexcept;


 private:
  friend class client;  // a client shares its engine's state (the parser, the counters)
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace pollster
