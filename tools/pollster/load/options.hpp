// pollster load's command line: the flags as typed, and what they mean once
// checked (before anything starts).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common.hpp"
#include "pollster/pollster.hpp"

namespace pollster::cli::load {

/// The flags, as the user wrote them (durations stay text so that messages
/// can quote them).
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

void add_load_flags(CLI::App& app, load_options& o);

/// The checked meaning of the flags.
struct load_settings {
  std::chrono::nanoseconds run_for{};
  std::chrono::nanoseconds request_timeout{};
  backoff_policy backoff;
  purge_policy purge = purge_policy::after_delivery;
  std::uint64_t shard = 0, shards = 1;
  std::uint64_t shard_handles = 0, shard_connections = 0;  ///< this shard's part
  bool embedded = true;  ///< no --target: start the simulator
  bool open_loop = false;
};

/// Checks everything that can be checked without a network; nullopt with a
/// one-line `why` naming the flag otherwise.
std::optional<load_settings> check_options(const load_options& o, std::string& why);

/// INITIAL:MULTIPLIER:MAX[:JITTER] ("1s:1.5:20s"), or one DURATION (fixed).
std::optional<backoff_policy> parse_backoff(const std::string& text, std::string& why);
/// "K/N" with 0 <= K < N.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_shard(const std::string& text, std::string& why);
/// Shard k of n's part of `total` (the first total % n get one more).
std::uint64_t share(std::uint64_t total, std::uint64_t k, std::uint64_t n);

}  // namespace pollster::cli::load
