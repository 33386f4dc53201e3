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

using namespace std::chrono_literals;
using duration = std::chrono::nanoseconds;

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
  duration initial = 1s;
  double multiplier = 1.5;
  duration max_delay = 20s;
  double jitter = 1.0;
  duration min_delay = 100ms;
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

struct client_config {
  std::string url;  ///< https://host[:port]/json-rpc/<version>
  std::string user;
  std::string password;
  tls_options tls;
  /// Connections to this cluster at most (clusters allow 1024 auth sessions
  /// in all: keep this small).
  std::size_t pool_size = 8;
  /// Bound on each request's connect + handshake + write + read.
  duration request_timeout = 30s;
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
  /// Reconnect backoff of a pooled connection after a failed connect.
  backoff_policy reconnect{.initial = 100ms, .multiplier = 2.0, .max_delay = 10s,
                           .jitter = 1.0, .min_delay = 10ms};
};

/// Progress of a running operation: the `details` object as raw JSON (a view
/// into the receive buffer, valid during the call only).
struct progress {
  std::uint64_t handle;
  std::string_view result_type;
  std::string_view details_json;
  double percent_complete;  ///< details.percentComplete, or -1 when absent
};

struct wait_options {
  /// Give up after this long (timed_out outcome); 0: no deadline.
  duration deadline = 1h;
  /// Spacing of polls while the operation runs.
  backoff_policy poll{};
  /// Spacing of retries after transient errors.
  backoff_policy retry{.initial = 200ms, .multiplier = 2.0, .max_delay = 10s,
                       .jitter = 1.0, .min_delay = 50ms};
  purge_policy purge = purge_policy::after_delivery;
  /// Re-polls that must also say "no such handle" before gone is reported
  /// (it has been seen transiently during upgrades), and their spacing.
  int gone_confirmations = 2;
  duration gone_confirm_delay = 1s;
  /// Called after each "running" answer; may be empty.
  std::function<void(const progress&)> on_progress;
};

}  // namespace pollster
