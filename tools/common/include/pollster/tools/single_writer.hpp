#pragma once
// Counters written by one thread and read by others while it runs: a relaxed
// store of the incremented value (no locked instruction, the writer is alone)
// and relaxed loads. A reader sees each counter's own latest value, not a
// consistent set; exact once the writer has stopped.

#include <atomic>
#include <cstdint>

namespace pollster::tools {

inline void single_writer_add(std::uint64_t& c, std::uint64_t by = 1) noexcept {
  std::atomic_ref<std::uint64_t> r(c);
  r.store(r.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline void single_writer_put(std::uint64_t& c, std::uint64_t v) noexcept {
  std::atomic_ref<std::uint64_t>(c).store(v, std::memory_order_relaxed);
}
inline std::uint64_t single_writer_get(const std::uint64_t& c) noexcept {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(c)).load(std::memory_order_relaxed);
}

}  // namespace pollster::tools
