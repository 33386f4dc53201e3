// What a worker counts, and how the main thread reads it while it runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "pollster/tools/single_writer.hpp"

namespace pollster::cli::load {

// Written by one worker thread, read by the main thread while it runs.
inline void inc(std::uint64_t& c, std::uint64_t by = 1) noexcept { tools::single_writer_add(c, by); }
inline void put(std::uint64_t& c, std::uint64_t v) noexcept { tools::single_writer_put(c, v); }
inline std::uint64_t get(const std::uint64_t& c) noexcept { return tools::single_writer_get(c); }

constexpr std::size_t error_slots = 32;  // indexed by pollster::error; 0: anything else

/// The scalar counters, by name. One array holds them all, so copying and
/// adding are one loop each and a new counter is one line here.
enum class counter : std::size_t {
  requests,          ///< HTTP exchanges (closed loop: polls and releases; open loop: polls)
  releases,          ///< release requests (keepResult false after delivery)
  completed,         ///< operations seen complete (succeeded + task_failed)
  succeeded,
  task_failed,
  gone,
  timed_out,
  failed,
  outstanding,       ///< waits cancelled by the stop (still running)
  scheduled,         ///< open loop: timetable entries reached
  late,              ///< open loop: sends that left behind their time
  skipped,           ///< open loop: sends dropped (too many in flight)
  open_connections,  ///< sampled
  connects,          ///< sampled
  connect_failures,  ///< sampled
  engine_requests,   ///< sampled: every HTTP request the engines sent (polls, lists, releases)
  lists,             ///< sampled: ListAsyncResults answers read
  detected_early,    ///< outcomes delivered before the simulator says the job completed (never expected)
  duplicates,        ///< --jobs: outcomes delivered for a handle already delivered (never expected)
  count_
};
constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

struct counters_block {
  // [scalars | errors by pollster::error | failed waits by pollster::error]
  std::array<std::uint64_t, counter_count + 2 * error_slots> all{};

  std::uint64_t& operator[](counter c) noexcept { return all[static_cast<std::size_t>(c)]; }
  std::uint64_t operator[](counter c) const noexcept { return all[static_cast<std::size_t>(c)]; }
  std::uint64_t& error(std::size_t slot) noexcept { return all[counter_count + slot]; }
  std::uint64_t error(std::size_t slot) const noexcept { return all[counter_count + slot]; }
  std::uint64_t& failed_by(std::size_t slot) noexcept { return all[counter_count + error_slots + slot]; }
  std::uint64_t failed_by(std::size_t slot) const noexcept { return all[counter_count + error_slots + slot]; }

  /// Failed requests; in closed loop the failed connects are errors too (the
  /// observer never sees them).
  std::uint64_t errors_total(bool count_connect_failures) const noexcept {
    std::uint64_t n = count_connect_failures ? (*this)[counter::connect_failures] : 0;
    for (std::size_t i = 0; i < error_slots; ++i) n += error(i);
    return n;
  }
  /// A consistent-enough copy of a worker's live block (relaxed loads).
  void load_from(const counters_block& live) noexcept {
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = get(live.all[i]);
  }
  void add(const counters_block& o) noexcept {
    for (std::size_t i = 0; i < all.size(); ++i) all[i] += o.all[i];
  }
};

}  // namespace pollster::cli::load
