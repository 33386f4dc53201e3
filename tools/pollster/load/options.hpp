// pollster load's command line: the flags as typed, and what they mean once
// checked (before anything starts).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"
#include "load/thresholds.hpp"
#include "pollster/pollster.hpp"

namespace pollster::cli::load {

/// The flags, as the user wrote them: numbers and durations stay text so
/// that messages quote them, and `typed` records which of a flag's names was
/// used ("-c" or "--connections"), so that messages name it.
struct load_options {
  std::string url;  // empty: the embedded simulator
  std::vector<std::string> urls;  ///< every --endpoint/--target given, in order (several: one cluster each)
  std::string user = "admin";
  std::string password_file;
  tls_flags tls;
  std::string handles = "1000";
  std::string connections = "16";
  std::string threads = "1";
  std::string duration = "10s";
  std::string warmup = "0s";
  std::string rate;  // empty: closed loop
  std::string purge = "after-delivery";
  std::string backoff = "learned";
  std::string shard = "0/1";
  std::string json_file, html_file, csv_file, openmetrics_file, junit_file;
  std::vector<std::string> thresholds;
  std::string max_p99, max_error_ratio;  // aliases of --threshold
  std::string request_timeout = "10s";
  std::string first_handle = "1";
  std::string sim_job_duration = "lognormal:2s:0.5";
  std::string fan_in = "auto";
  std::string clusters;       // empty: one (or one per --target)
  std::string jobs;           // empty: the closed loop replaces each ended operation
  std::string other_results = "0";
  bool no_progress = false;
  bool no_id_check = false;
  std::map<std::string, std::string> typed;  ///< canonical flag -> the name used
  std::vector<std::string> extras;           ///< unknown arguments (see check_options)
  std::vector<std::string> flag_names;       ///< every flag name, for suggestions

  /// The name the user typed for `canonical` (the canonical one when unset).
  std::string name(const std::string& canonical) const;
};

/// Registers the flags. Aliases: --endpoint/--target, --connections/-c/
/// --pool-size, --duration/-d, --rate/-R, --threads/-t,
/// --request-timeout/--timeout. Environment: POLLSTER_ENDPOINT, POLLSTER_USER,
/// POLLSTER_CA_FILE, POLLSTER_PIN_SHA256, POLLSTER_CONNECTIONS,
/// POLLSTER_REQUEST_TIMEOUT (and POLLSTER_PASSWORD, read by read_password).
void add_load_flags(CLI::App& app, load_options& o);

/// The known name nearest to `unknown` by edit distance, empty when none is
/// close (more than a third of the letters differ).
std::string nearest_flag(const std::string& unknown, const std::vector<std::string>& known);

/// The checked meaning of the flags.
struct load_settings {
  std::uint64_t handles = 0, connections = 0, threads = 1, first_handle = 1;
  double rate = 0;  ///< polls per second in all shards; 0: closed loop
  std::chrono::nanoseconds run_for{};  ///< measured time, after the warm-up
  std::chrono::nanoseconds warmup{};
  std::chrono::nanoseconds request_timeout{};
  backoff_policy backoff;
  purge_policy purge = purge_policy::after_delivery;
  std::uint64_t shard = 0, shards = 1;
  std::uint64_t shard_handles = 0, shard_connections = 0;  ///< this shard's part
  bool embedded = true;  ///< no --target: start the simulator
  fan_in_mode fan_in = fan_in_mode::automatic;
  std::uint64_t clusters = 1;  ///< embedded: simulators started; else the --target count
  std::vector<std::string> targets;  ///< the --target URLs (empty when embedded)
  /// --jobs: operations in all (every one outstanding from the start, none
  /// replaced; the run ends when they all ended); 0: the plain closed loop.
  std::uint64_t jobs = 0;
  std::uint64_t other_results = 0;  ///< embedded: completed results of other clients, per cluster
  bool open_loop = false;
  std::vector<threshold> thresholds;
};

/// Checks everything that can be checked without a network; nullopt with a
/// one-line `why` naming the flag as typed and quoting its value otherwise.
/// An unknown flag is refused here, with the nearest known one suggested.
std::optional<load_settings> check_options(const load_options& o, std::string& why);

/// INITIAL:MULTIPLIER:MAX[:JITTER] ("1s:1.5:20s"), or one DURATION (fixed).
std::optional<backoff_policy> parse_backoff(const std::string& text, std::string& why);
/// "K/N" with 0 <= K < N.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_shard(const std::string& text, std::string& why);
/// Shard k of n's part of `total` (the first total % n get one more).
std::uint64_t share(std::uint64_t total, std::uint64_t k, std::uint64_t n);

}  // namespace pollster::cli::load
