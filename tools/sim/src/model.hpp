// The simulated cluster without I/O: jobs, their results, fault decisions and
// the JSON answers. Time comes in as milliseconds since the server's epoch, so
// tests could drive it without a clock. Not thread-safe: the server guards it.
#pragma once

#include "pollster/sim/server.hpp"
#include "pollster/tools/json_escape.hpp"
#include "rpc.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <map>
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
  static constexpr std::uint8_t other = 32;    ///< one of config::other_results

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
// Counted from the last one, so that adding a fault cannot leave it behind.
inline constexpr std::size_t fault_count = static_cast<std::size_t>(fault_id::slow_handshake) + 1;
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

/// The default QoS curve of a volume (CloneVolume's `curve`, a volume's
/// `qos.curve`): IOPS by I/O size, keys sorted as strings.
inline constexpr std::string_view qos_curve =
    R"({"1048576":15000,"131072":1950,"16384":270,"262144":3900,"32768":500,"4096":100,"524288":7600,"65536":1000,"8192":160})";

/// Total bytes of a simulated clone or bulk volume job (also a clone's totalSize).
inline constexpr std::uint64_t total_bytes = 1001390080;

inline std::uint64_t clone_id(std::uint64_t h) noexcept { return h + 100; }
inline std::uint64_t clone_volume_id(std::uint64_t h) noexcept { return h + 1000; }
/// The auxiliary number of a job its start did not give one: a volume ID or a drive count.
inline std::uint32_t default_aux(job_kind k, std::uint64_t h) noexcept {
  switch (k) {
    case job_kind::bulk_read:
    case job_kind::bulk_write:
    case job_kind::copy:
      return static_cast<std::uint32_t>(h % 4000 + 1);
    case job_kind::drive_add:
    case job_kind::drive_remove:
      return 1;
    default:
      return 0;
  }
}

inline bool is_clone_kind(job_kind k) noexcept {
  return k == job_kind::clone || k == job_kind::clone_multi || k == job_kind::copy;
}

// The first problem of a required/optional param, or empty.
struct param_check {
  std::string message;
  bool ok() const { return message.empty(); }
};

inline void require(param_check& pc, param st, std::string_view name, std::string_view type, bool required = true) {
  if (!pc.ok()) return;
  if (st == param::bad) {
    pc.message = "Invalid type for parameter '" + std::string(name) + "': expected " + std::string(type);
  } else if (st == param::absent && required) {
    pc.message = "Missing required parameter '" + std::string(name) + "'";
  }
}

/// Draws a duration from a distribution with two uniform numbers in [0,1).
duration sample(const duration_dist& d, double u1, double u2) noexcept;

class cluster {
 public:
  cluster(const config& cfg, std::int64_t wall_epoch_ms);

  /// The base of the bulk volume URLs (https://host:port/).
  void set_bulk_url(std::string url) { bulk_url_ = std::move(url); }
  /// The API versions served (the URL's /json-rpc/<version>); also GetAPI's lists.
  void set_supported_versions(std::vector<std::string> v);
  /// The address GetClusterInfo names as MVIP and SVIP.
  void set_host(std::string host) { host_ = std::move(host); }

  decision draw_faults();

  /// Writes the JSON-RPC answer for `call` (a JSON document) at the end of `out`.
  /// `api_version`: the version the URL named (a supported one; empty: the
  /// configured one). It decides the error for a handle that never existed.
  answer_info answer(const rpc_call& call, const decision& d, std::uint32_t now_ms, std::string& out,
                     std::string_view api_version = {});

  void answer_delivered(std::uint64_t handle) noexcept;
  void answer_lost(std::uint64_t handle) noexcept;
  /// An answer counted by answer_delivered could not be written.
  void answer_undelivered(std::uint64_t handle) noexcept;

  std::uint64_t create_job(job_kind kind, std::uint32_t now_ms, std::uint32_t run_ms, bool fail,
                           std::uint32_t aux);
  std::optional<job_record> record(std::uint64_t handle, std::uint32_t now_ms);
  /// The job's end, in ms since the epoch; nullopt when unknown.
  std::optional<std::uint64_t> end_ms(std::uint64_t handle) const;
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
  void write_no_such_path(std::string& out, std::string_view id, std::int64_t handle);
  /// A handle that never existed: xAsyncHandleDoesNotExist from API 12.0 on,
  /// xDBNoSuchPath before (docs/simulator.md).
  void write_unknown_handle(std::string& out, std::string_view id, std::int64_t handle, bool api12);
  void get_api(const rpc_call& c, std::string& out) const;
  answer_info get_async_result(const rpc_call& c, const decision& d, std::uint32_t now_ms, std::string& out,
                               bool api12);
  void list_async_results(const rpc_call& c, std::uint32_t now_ms, std::string& out);
  void start_job(const rpc_call& c, std::uint32_t now_ms, std::string& out);
  void write_task_payload(std::string& out, std::uint64_t handle, const job& j) const;
  void write_details(std::string& out, const job& j, std::uint32_t now_ms) const;
  void write_time(std::string& out, std::uint64_t ms) const;
  void write_bulk_key(std::string& out, std::uint64_t h) const;

  // listings.cpp: the methods orchestration clients wait with.
  struct volume {  ///< a volume CloneVolume created
    std::uint64_t handle;  ///< its clone job
    std::uint32_t account;
    std::uint32_t create_ms;
    std::string name;
  };
  void list_volumes(const rpc_call& c, std::uint32_t now_ms, std::string& out, bool for_account);
  void write_volume(std::string& out, std::uint64_t id, const volume& v, std::uint32_t now_ms) const;
  void get_cluster_info(const rpc_call& c, std::string& out) const;
  void get_cluster_version_info(const rpc_call& c, std::string& out) const;
  void list_bulk_volume_jobs(const rpc_call& c, std::uint32_t now_ms, std::string& out);
  void list_sync_jobs(const rpc_call& c, std::uint32_t now_ms, std::string& out);
  /// Running jobs of the given kinds, by handle, in scratch_.
  void running_of(std::uint32_t now_ms, bool (*want)(job_kind));

  config cfg_;
  std::int64_t wall_epoch_ms_;
  std::string bulk_url_ = "https://127.0.0.1:8443/";
  std::vector<std::string> versions_;
  std::string get_api_result_;  ///< GetAPI's result object, built once
  std::string host_ = "127.0.0.1";
  std::map<std::uint64_t, volume> volumes_;  ///< by volumeID, as ListVolumes orders them
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

/// JSON string escaping (quotes not included): the tools' one copy.
inline void append_escaped(std::string& out, std::string_view s) { tools::append_json_escaped(out, s); }
void append_uint(std::string& out, std::uint64_t v);
void append_int(std::string& out, std::int64_t v);
/// ISO 8601 UTC, seconds: 2016-01-01T22:29:18Z
void append_iso8601(std::string& out, std::int64_t unix_ms);
void append_fixed(std::string& out, double v, int precision);
/// The major number of an API version ("12.5" -> 12; 0 when not a number).
unsigned api_major(std::string_view version) noexcept;

}  // namespace pollster::sim::detail
