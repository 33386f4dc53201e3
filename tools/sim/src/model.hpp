// The simulated cluster without I/O: jobs, their results, fault decisions and
// the JSON answers. Time comes in as milliseconds since the server's epoch, so
// tests could drive it without a clock. Not thread-safe: the server guards it.
#pragma once

#include "pollster/sim/server.hpp"
#include "rpc.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pollster::sim::detail {

/// What started a job; decides its resultType and the shape of its result.
enum class job_kind : std::uint8_t {
  clone,        ///< CloneVolume (Clone)
  clone_multi,  ///< CloneMultipleVolumes (Clone)
  copy,         ///< CopyVolume (Clone)
  bulk_read,    ///< StartBulkVolumeRead (BulkVolume)
  bulk_write,   ///< StartBulkVolumeWrite (BulkVolume)
  drive_add,    ///< AddDrives (DriveAdd)
  drive_remove, ///< RemoveDrives (DriveRemoval)
  rtfi,         ///< only through server::create_job (RtfiPendingNode)
};

std::string_view result_type_name(job_kind k) noexcept;
std::uint8_t result_type_bit(job_kind k) noexcept;
/// From a resultType name ("Clone", "BulkVolume", ...); nullopt if unknown.
std::optional<job_kind> job_kind_from_result_type(std::string_view name) noexcept;

/// One job: 16 bytes. Everything else (IDs, keys, result JSON) is derived from
/// the handle, the kind and `aux` when an answer is written.
struct job {
  std::uint32_t start_ms = 0;   ///< since the epoch
  std::uint32_t run_ms = 0;
  std::uint32_t aux = 0;        ///< source/destination volume ID or drive count, per kind
  std::uint16_t complete_answers = 0;  ///< saturates
  job_kind kind = job_kind::clone;
  std::uint8_t flags = 0;

  static constexpr std::uint8_t failed = 1;
  static constexpr std::uint8_t purged = 2;
  static constexpr std::uint8_t evicted = 4;   ///< purged by the retention bound
  static constexpr std::uint8_t automatic = 8; ///< created by --auto-jobs
  static constexpr std::uint8_t lost = 16;     ///< an answer carrying complete was not delivered

  std::uint64_t end_ms() const noexcept { return std::uint64_t{start_ms} + run_ms; }
};
static_assert(sizeof(job) == 16);

enum class fault_id : std::uint8_t {
  latency,
  db_version_mismatch,
  not_primary,
  transient_gone,
  http_503,
  connection_close,
  close_after_requests,
  reset_mid_response,
  drop_after_purge,
  failover,
  slow_handshake,
};
inline constexpr std::size_t fault_count = 11;
std::string_view fault_name(fault_id f) noexcept;

/// Faults drawn for one request, before it is processed (a fixed number of
/// draws per request, so a seed replays the same decisions).
struct decision {
  bool http_503 = false;
  std::uint8_t retryable = 0;  ///< 0 none, 1 xDBVersionMismatch, 2 xNotPrimary
  bool transient_gone = false;
  bool reset_mid = false;
  bool drop_after_purge = false;
  bool connection_close = false;
  duration latency{0};
};

/// What an answer carried, for the server's bookkeeping after sending it.
struct answer_info {
  std::uint64_t complete_handle = 0;  ///< nonzero: the answer carries status complete
  bool purged = false;                ///< this answer purged complete_handle
};

/// Draws a duration from a distribution with two uniform numbers in [0,1).
duration sample(const duration_dist& d, double u1, double u2) noexcept;

class cluster {
 public:
  cluster(const config& cfg, std::int64_t wall_epoch_ms);

  /// The base of the bulk volume URLs (https://host:port/).
  void set_bulk_url(std::string url) { bulk_url_ = std::move(url); }
  void set_supported_versions(std::vector<std::string> v) { versions_ = std::move(v); }

  decision draw_faults();

  /// Writes the JSON-RPC answer for `call` (a JSON document) at the end of `out`.
  /// `unknown_version` non-empty: the URL named an unsupported API version.
  answer_info answer(const rpc_call& call, const decision& d, std::uint32_t now_ms, std::string& out,
                     std::string_view unknown_version = {});

  void answer_delivered(std::uint64_t handle) noexcept;
  void answer_lost(std::uint64_t handle) noexcept;
  /// An answer counted by answer_delivered could not be written.
  void answer_undelivered(std::uint64_t handle) noexcept;

  std::uint64_t create_job(job_kind kind, std::uint32_t now_ms, std::uint32_t run_ms, bool fail,
                           std::uint32_t aux);
  std::optional<job_record> record(std::uint64_t handle, std::uint32_t now_ms);
  /// Job-related fields of stats (and the method counters).
  void fill(stats& s, std::uint32_t now_ms);

  /// Moves jobs whose time has come to the completed queue and applies the
  /// retention bound.
  void advance(std::uint32_t now_ms);

  std::size_t job_count() const noexcept { return jobs_.size(); }
  std::uint64_t fault_counter(fault_id f) const noexcept { return faults_[static_cast<std::size_t>(f)]; }
  void count_fault(fault_id f) noexcept { ++faults_[static_cast<std::size_t>(f)]; }

 private:
  struct pending {
    std::uint64_t end_ms;
    std::uint64_t handle;
    bool operator>(const pending& o) const noexcept {
      return end_ms != o.end_ms ? end_ms > o.end_ms : handle > o.handle;
    }
  };

  std::uint64_t next_random() noexcept;
  std::uint64_t job_random(std::uint64_t handle, std::uint64_t salt) const noexcept;
  std::uint64_t new_handle();
  job make_job(std::uint64_t handle, job_kind kind, std::uint32_t now_ms, std::uint32_t aux) const;
  void insert(std::uint64_t handle, const job& j);

  void count_method(const rpc_call& call);

  // Answer writers (append to out).
  void write_error(std::string& out, std::string_view id, std::string_view name, std::string_view message);
  void write_no_such_path(std::string& out, std::string_view id, std::uint64_t handle);
  answer_info get_async_result(const rpc_call& c, const decision& d, std::uint32_t now_ms, std::string& out);
  void list_async_results(const rpc_call& c, std::uint32_t now_ms, std::string& out);
  void start_job(const rpc_call& c, std::uint32_t now_ms, std::string& out);
  void write_task_payload(std::string& out, std::uint64_t handle, const job& j) const;
  void write_details(std::string& out, const job& j, std::uint32_t now_ms) const;
  void write_time(std::string& out, std::uint64_t ms) const;

  config cfg_;
  std::int64_t wall_epoch_ms_;
  std::string bulk_url_ = "https://127.0.0.1:8443/";
  std::vector<std::string> versions_;
  std::uint64_t rng_state_;
  bool any_fault_;

  boost::unordered_flat_map<std::uint64_t, job> jobs_;
  std::priority_queue<pending, std::vector<pending>, std::greater<>> running_;
  std::deque<std::uint64_t> completed_;   ///< unpurged-at-completion, in completion order
  std::uint64_t completed_unpurged_ = 0;
  std::uint64_t next_handle_ = 1;
  /// CloneMultipleVolumes source volumes (rare; not on the polling path).
  std::unordered_map<std::uint64_t, std::vector<std::int64_t>> multi_sources_;

  std::array<std::uint64_t, method_count> method_counts_{};
  std::map<std::string, std::uint64_t> unknown_methods_;
  std::uint64_t invalid_requests_ = 0;
  std::array<std::uint64_t, fault_count> faults_{};
  std::uint64_t purged_ = 0;
  std::uint64_t evicted_ = 0;

  std::vector<std::uint64_t> scratch_;
};

/// JSON string escaping (quotes not included).
void append_escaped(std::string& out, std::string_view s);
void append_uint(std::string& out, std::uint64_t v);
void append_int(std::string& out, std::int64_t v);
/// ISO 8601 UTC, seconds: 2016-01-01T22:29:18Z
void append_iso8601(std::string& out, std::int64_t unix_ms);

}  // namespace pollster::sim::detail
