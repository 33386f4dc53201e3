// Plain configuration aggregates. Every member has a sane default; a zero
// duration or count means "off" where the comment says so.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "pollster/endpoint.hpp"

namespace pollster {

/// Every duration of the API: any std::chrono duration converts to it.
using duration = std::chrono::nanoseconds;

/// How the cluster's certificate is trusted.
struct tls_options {
  /// PEM file of the CAs to trust; empty: the system store.
  std::string ca_file;
  /// SHA-256 of the server certificate's DER, as 64 hex digits (colons
  /// allowed). When set, the certificate must match it and CA/name checks are
  /// skipped: this is how a cluster's default self-signed certificate is
  /// trusted safely.
  std::string pin_sha256;
  /// Skip every check. Loudly named on purpose; tools print a warning.
  bool insecure_skip_verify = false;
  /// Allow an http:// endpoint (tests and proxies only).
  bool allow_plaintext = false;
};

/// Capped exponential backoff with jitter: the n-th delay is drawn uniformly
/// from [max(min_delay, ceiling*(1-jitter)), ceiling], ceiling = min(max_delay,
/// initial*multiplier^n). jitter 1.0 is "full jitter".
struct backoff_policy {
  duration initial = std::chrono::seconds(1);     ///< the first delay's ceiling
  double multiplier = 1.5;                        ///< growth of the ceiling per attempt
  duration max_delay = std::chrono::seconds(20);  ///< the ceiling's cap
  double jitter = 1.0;                            ///< share of the ceiling drawn at random (0..1)
  duration min_delay = std::chrono::milliseconds(100);  ///< floor of every delay
  /// wait_options::poll only: place the polls of a wait without progress
  /// where this client's past completions say they are due (the hazard of
  /// completion by age, learned from every wait of the client: fewer requests
  /// and a shorter detection delay than a fixed 2 s loop, by the same
  /// factor), within [min_delay, max_delay]. The default for wait_options; a
  /// policy written out by hand is the backoff above.
  bool learned = false;
};

/// When a complete result is released (purged) on the cluster.
enum class purge_policy {
  /// Poll with keepResult=true; after the outcome was handed to the caller,
  /// send one keepResult=false to release it. Nothing can be lost.
  after_delivery,
  /// Always keepResult=true; results stay on the cluster.
  never,
  /// keepResult=false on every poll, as other clients do. LOSSY: if the answer
  /// carrying "complete" is lost, the result is gone for good.
  on_read,
};

/// How the waits of one client (one cluster) learn of their operations.
enum class fan_in_mode {
  /// Per tick, whichever costs the cluster less (fan_in_options' cost
  /// model): one ListAsyncResults for every wait, or per-handle polls. Falls
  /// back to per-handle polling while the cluster refuses or keeps failing
  /// ListAsyncResults.
  automatic,
  /// One ListAsyncResults per tick serves every wait of the client.
  list,
  /// One GetAsyncResult per wait, on its own schedule (wait_options::poll).
  per_handle,
};

/// The list ticks (fan_in_mode::list and automatic).
struct fan_in_options {
  /// Lists, per-handle polls, or whichever costs the cluster less.
  fan_in_mode mode = fan_in_mode::automatic;
  /// The shortest spacing of two lists, taken while completions come: the
  /// floor that protects the cluster, whatever the number of waits.
  duration min_interval = std::chrono::milliseconds(500);
  /// The longest, reached while list after list changes nothing.
  duration max_interval = std::chrono::seconds(4);
  /// Bytes of list answer per second the cluster is asked to serve at most:
  /// after an answer of B bytes the next list waits at least B / budget (a
  /// 100,000-entry list is not asked for twice a second). 0: no budget.
  double list_bytes_per_second = 8e6;
  /// automatic's cost model, the shape of `pollster sim --service-time`: a
  /// request costs the cluster as much as this many bytes of answer. A list
  /// is chosen when it costs less than the polls its waits would send per
  /// tick interval.
  std::size_t request_cost_bytes = 4096;
  /// Consecutive failed lists after which automatic polls per handle (for
  /// `fallback_for`, then tries a list again). A refused method (unknown
  /// method, no permission) falls back at once.
  int failures_before_fallback = 3;
  /// How long automatic polls per handle after a fallback before listing again.
  duration fallback_for = std::chrono::seconds(60);
};

/// Everything a client needs to reach one cluster.
struct client_config {
  std::string url;       ///< https://host[:port]/json-rpc/<version>
  std::string user;      ///< cluster admin user (HTTP Basic auth)
  std::string password;  ///< its password (sent only over the verified TLS connection)
  tls_options tls;       ///< how the cluster's certificate is trusted
  /// Connections to this cluster at most (clusters allow 1024 auth sessions
  /// in all: keep this small).
  std::size_t pool_size = 8;
  /// Bound on each request's connect + handshake + write + read.
  duration request_timeout = std::chrono::seconds(30);
  /// Requests per second toward this cluster (token bucket); 0: unlimited.
  double rate_limit = 0;
  /// Burst of the token bucket; 0: one second's worth.
  double rate_burst = 0;
  /// Bound on one release (the keepResult=false GetAsyncResult sent after
  /// delivery). Releases are best effort: they go only when no poll is due,
  /// at most half the pool at once, and a lost one loses nothing.
  duration release_timeout = std::chrono::seconds(5);
  /// Check that each answer's JSON-RPC id is the request's (real clusters
  /// echo it). A mismatch is an unasked answer: the connection is closed and
  /// the request sent again. Turn off only for static test servers that
  /// answer a fixed id.
  bool check_id = true;
  /// Largest answer body accepted (a ListAsyncResults of many thousands of
  /// entries fits).
  std::size_t body_limit = 64 * 1024 * 1024;
  /// One ListAsyncResults for every wait, or a poll per wait.
  fan_in_options fan_in{};
  /// Reconnect backoff of a pooled connection after a failed connect.
  backoff_policy reconnect{.initial = std::chrono::milliseconds(100),
                           .multiplier = 2.0,
                           .max_delay = std::chrono::seconds(10),
                           .jitter = 1.0,
                           .min_delay = std::chrono::milliseconds(10)};
};

/// Progress of a running operation: the `details` object as raw JSON (a view
/// into the receive buffer, valid during the call only).
struct progress {
  std::uint64_t handle;           ///< the wait's asyncHandle
  std::string_view result_type;   ///< the answer's resultType ("Clone"...)
  std::string_view details_json;  ///< the `details` object, raw
  double percent_complete;  ///< details.percentComplete, or -1 when absent
};

/// How one wait polls, retries, ends and purges. Share one between many
/// waits (client::async_wait's shared_ptr overload).
struct wait_options {
  /// Give up after this long (timed_out outcome); 0: no deadline.
  duration deadline = std::chrono::hours(1);
  /// Spacing of polls while the operation runs: learned from the client's
  /// completions (see backoff_policy::learned), a percentComplete's
  /// prediction first.
  backoff_policy poll{.learned = true};
  /// Spacing of retries after transient errors.
  backoff_policy retry{.initial = std::chrono::milliseconds(200),
                       .multiplier = 2.0,
                       .max_delay = std::chrono::seconds(10),
                       .jitter = 1.0,
                       .min_delay = std::chrono::milliseconds(50)};
  /// When the complete result is released on the cluster.
  purge_policy purge = purge_policy::after_delivery;
  /// Re-polls that must also say "no such handle" before gone is reported
  /// (it has been seen transiently during upgrades).
  int gone_confirmations = 2;
  /// The spacing of those re-polls.
  duration gone_confirm_delay = std::chrono::seconds(1);
  /// The operation's resultType ("Clone", "BulkVolume", ...) when known
  /// (start_and_wait sets it from the method): a list is filtered by
  /// asyncResultTypes when every wait of the client knows its type.
  std::string result_type;
  /// Called after each "running" answer (or running list entry); may be empty.
  std::function<void(const progress&)> on_progress;
};

}  // namespace pollster
