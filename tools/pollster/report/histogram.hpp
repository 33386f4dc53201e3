// A latency histogram for `pollster load`: HDR-style log-linear buckets with
// exact counts, mergeable, and cheap enough to record every request.
//
// Why hand-written: HdrHistogram (C or C++) is not packaged in Debian 12, and
// the project builds from Debian packages alone. What we need of it is small:
// 128 linear sub-buckets per power of two (every value is counted exactly in a
// bucket whose width is at most 1/128 = 0.8% of its value), a fixed array (no
// allocation when recording), merge by adding counts, percentiles from the
// cumulative counts. Values are nanoseconds, up to 2^42 ns (about 73 minutes);
// larger values are counted in the last bucket.
//
// Threading: one thread records (`record`), any thread may read a consistent-
// enough copy at the same time (`load_from`): every counter is written with a
// relaxed atomic store of its incremented value (a plain `mov` on x86-64, no
// locked instruction: there is only one writer) and read with relaxed loads.
// A copy taken while recording goes on may be off by the few requests recorded
// during the copy; a copy taken after the writer stopped is exact.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace pollster::cli {

class histogram {
 public:
  static constexpr int sub_bits = 7;
  static constexpr std::uint64_t sub_count = 1u << sub_bits;  // 128
  static constexpr int max_shift = 34;                         // values < 2^42 ns
  static constexpr std::size_t bucket_count = (max_shift + 2) * sub_count;

  /// Bucket of a value, and the lowest/highest value counted in a bucket.
  static std::size_t index_of(std::uint64_t v) noexcept;
  static std::uint64_t lowest(std::size_t index) noexcept;
  static std::uint64_t highest(std::size_t index) noexcept;

  /// Counts one value (single writer; see the header comment).
  void record(std::uint64_t v) noexcept;
  /// Counts `n` values in bucket `index` (merging, reading a report).
  void add_bucket(std::size_t index, std::uint64_t n) noexcept;

  /// Adds every count of `o`; min/max/sum follow.
  void merge(const histogram& o) noexcept;
  /// Copies `live` (which another thread may be recording into).
  void load_from(const histogram& live) noexcept;
  /// this - earlier, bucket by bucket: the values recorded since `earlier`
  /// was copied. min/max become the bounds of the outermost non-empty buckets.
  histogram since(const histogram& earlier) const noexcept;
  void clear() noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t sum() const noexcept { return sum_; }
  double mean() const noexcept { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }
  /// The value at or below which `q` percent of the values lie (q in [0, 100]):
  /// the highest value of the bucket holding that rank, never above max().
  /// 0 when empty. Monotonic in q.
  std::uint64_t percentile(double q) const noexcept;

  /// The non-empty buckets as (index, count) pairs, in index order.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> sparse() const;
  /// Sets min/max/sum when read back from a report (they are not derivable
  /// exactly from the buckets).
  void set_extremes(std::uint64_t min, std::uint64_t max, std::uint64_t sum) noexcept {
    min_ = min;
    max_ = max;
    sum_ = sum;
  }

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace pollster::cli
