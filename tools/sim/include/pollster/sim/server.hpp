// A simulated Element cluster on loopback: HTTPS JSON-RPC, single-threaded.
// Tests and `pollster load` run it in-process on its own thread; `pollster sim`
// runs it standalone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pollster::sim {

using duration = std::chrono::nanoseconds;

/// How long a job runs: fixed, uniform:A:B, or lognormal:MEDIAN:SIGMA.
struct duration_dist {
  enum class kind { fixed, uniform, lognormal } shape = kind::fixed;
  duration a = std::chrono::seconds(2);  ///< fixed value, uniform low, lognormal median
  duration b{};                           ///< uniform high
  double sigma = 0;                       ///< lognormal sigma
  /// Parses "2s", "150ms", "uniform:1s:5s", "lognormal:2s:0.5"; nullopt on error.
  static std::optional<duration_dist> parse(const std::string& text, std::string& why);
};

/// Fault injection. Ratios are per request in [0,1]; zero durations/counts are off.
struct faults {
  duration_dist latency{duration_dist::kind::fixed, duration{0}};  ///< added before answering
  double latency_ratio = 0;             ///< share of answers delayed by `latency`
  double retryable_error_ratio = 0;     ///< xDBVersionMismatch / xNotPrimary answers
  double transient_gone_ratio = 0;      ///< xDBNoSuchPath for a live handle
  double http_503_ratio = 0;            ///< HTTP 503 with an HTML body (and Retry-After: 1)
  double connection_close_ratio = 0;    ///< answer carries Connection: close, then close
  std::uint32_t close_after_requests = 0;  ///< close each connection after N requests
  double reset_mid_response_ratio = 0;  ///< send half the answer, then reset
  double drop_after_purge_ratio = 0;    ///< purge takes effect, answer never sent (reset)
  duration failover_period{};           ///< drop every connection every T
  duration slow_handshake{};            ///< delay before each TLS handshake
};

/// What an answer costs the cluster: base + per_kib x (answer bytes / 1024).
/// Answers are served one at a time, like one API endpoint (the MVIP): each
/// waits for the ones before it, so a long list holds up every client. Zero
/// (the default): off.
struct service_time {
  duration base{};     ///< per answer
  duration per_kib{};  ///< per 1024 bytes of answer body
  bool on() const { return base.count() > 0 || per_kib.count() > 0; }
};

struct config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t port = 0;               ///< 0: ephemeral
  std::string user = "admin";
  std::string password = "admin";
  std::string cert_pem, key_pem;        ///< empty: generate a self-signed pair
  std::string api_version = "12.5";
  duration_dist job_duration{};
  double fail_ratio = 0;                ///< completed jobs that fail (xBulkVolumeScriptFailure...)
  bool auto_jobs = false;               ///< unknown positive handles become jobs at first query
  std::size_t retention = 1'000'000;    ///< completed-but-unpurged results kept at most
  std::size_t body_limit = 1024 * 1024; ///< request bodies larger are refused (HTTP 413)
  faults fault;
  std::uint64_t seed = 1;
  // Additions (beyond the lead's contract):
  std::string auto_job_result_type = "Clone";  ///< resultType of --auto-jobs jobs
  /// Completed results that are not ours (other clients'), kept on the
  /// cluster and listed by ListAsyncResults like ours; handles from
  /// other_results_first_handle on, complete from the start.
  std::size_t other_results = 0;
  std::uint64_t other_results_first_handle = 1'000'000'000;
  service_time service;
  bool pretty = false;  ///< indent answers (valid JSON; some servers and proxies do)
  /// Running results (GetAsyncResult, ListAsyncResults entries) carry
  /// details.percentComplete and the clone byte counts. Off: `"details":{}`.
  /// No captured running GetAsyncResult is public (element-api.md), so a
  /// client must cope with either.
  bool progress_details = true;
};

struct stats {
  std::map<std::string, std::uint64_t> requests_by_method;
  std::map<std::string, std::uint64_t> faults_injected;
  std::uint64_t results_purged = 0;
  std::uint64_t live_jobs = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t http_401 = 0;
  // Additions:
  std::uint64_t results_evicted = 0;   ///< purged by the retention bound
  std::uint64_t running_jobs = 0;      ///< of live_jobs, still running
  std::uint64_t requests_total = 0;    ///< HTTP requests read (any outcome)
  std::uint64_t service_time_ns = 0;   ///< total cost of the answers (config::service)
};

/// One-line JSON rendering of stats (what `pollster sim` dumps).
std::string to_json(const stats& s);

/// What the simulator decided for a job: the ground truth tests compare the
/// engine's outcomes against.
struct job_record {
  std::uint64_t handle = 0;
  std::string result_type;
  bool failed = false;
  bool complete = false;     ///< its duration has elapsed
  bool purged = false;
  std::uint32_t complete_answers = 0;  ///< answers that carried status complete
  std::string result_json;   ///< the `result` (or task `error`) member as sent
  // Additions:
  bool evicted = false;      ///< purged by the retention bound, not by an answer
  bool automatic = false;    ///< created by --auto-jobs at its first query
  bool answer_lost = false;  ///< an answer carrying complete was dropped or cut (fault)
  bool other = false;        ///< one of config::other_results
};

class server {
 public:
  explicit server(config cfg);
  ~server();  ///< stops and joins
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, starts the thread, returns once listening. Throws std::runtime_error
  /// (also when called again after stop(): a server runs once).
  void start();
  void stop();

  // Additions, for the standalone `pollster sim`:
  /// Binds the listener and prepares the certificate (start() and run() do it
  /// when it was not done). Afterwards port(), url() and the certificate are known.
  void bind();
  /// Serves on the calling thread until stop() or, when handle_signals,
  /// SIGINT/SIGTERM. SIGUSR1 (when handle_signals) writes to_json(snapshot())
  /// to stderr. on_ready runs once the signal handlers are in place, just
  /// before serving.
  void run(bool handle_signals, const std::function<void()>& on_ready = {});

  std::uint16_t port() const;
  /// https://127.0.0.1:PORT/json-rpc/<api_version> (IPv6 literal in brackets).
  std::string url() const;
  std::string certificate_pem() const;
  /// SHA-256 of the certificate's DER, 64 lowercase hex digits.
  std::string certificate_sha256() const;

  /// Thread-safe snapshots.
  stats snapshot() const;
  std::optional<job_record> record(std::uint64_t handle) const;

  /// Creates a job as CloneVolume would, with an explicit duration/failure.
  /// Thread-safe. Returns its handle.
  std::uint64_t create_job(const std::string& result_type, duration run_for, bool fail);

  /// When the job of `handle` completed, or will complete, on the simulator's
  /// clock (to the millisecond: an answer says complete from then on);
  /// nullopt for a handle it does not know. For measuring detection delay:
  /// the in-process user compares it with when it learned the outcome.
  /// Thread-safe (takes the model's mutex; no allocation).
  std::optional<std::chrono::steady_clock::time_point> completion_time(std::uint64_t handle) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pollster::sim
