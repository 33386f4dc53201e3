#include "histogram.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>

#include "pollster/tools/single_writer.hpp"

namespace pollster::cli {

namespace {
// Single-writer counters readable from another thread (see histogram.hpp).
constexpr auto bump = tools::single_writer_add;
constexpr auto put = tools::single_writer_put;
constexpr auto get = tools::single_writer_get;
constexpr std::uint64_t largest = (std::uint64_t{1} << (histogram::max_shift + histogram::sub_bits + 1)) - 1;
}  // namespace

std::size_t histogram::index_of(std::uint64_t v) noexcept {
  if (v < 2 * sub_count) return static_cast<std::size_t>(v);
  v = std::min(v, largest);
  const int shift = static_cast<int>(std::bit_width(v)) - 1 - sub_bits;
  return static_cast<std::size_t>(shift) * sub_count + static_cast<std::size_t>(v >> shift);
}

std::uint64_t histogram::lowest(std::size_t index) noexcept {
  if (index < 2 * sub_count) return index;
  const std::size_t shift = index / sub_count - 1;
  return static_cast<std::uint64_t>(index - shift * sub_count) << shift;
}

std::uint64_t histogram::highest(std::size_t index) noexcept {
  if (index < 2 * sub_count) return index;
  const std::size_t shift = index / sub_count - 1;
  return lowest(index) + (std::uint64_t{1} << shift) - 1;
}

void histogram::record(std::uint64_t v) noexcept {
  bump(counts_[index_of(v)], 1);
  bump(total_, 1);
  bump(sum_, v);
  if (v > max_) put(max_, v);
  if (v < min_) put(min_, v);
}

void histogram::add_bucket(std::size_t index, std::uint64_t n) noexcept {
  if (n == 0 || index >= bucket_count) return;
  counts_[index] += n;
  total_ += n;
  sum_ += n * ((lowest(index) + highest(index)) / 2);
  min_ = std::min(min_, lowest(index));
  max_ = std::max(max_, highest(index));
}

void histogram::merge(const histogram& o) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
  total_ += o.total_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void histogram::load_from(const histogram& live) noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    counts_[i] = get(live.counts_[i]);
    total += counts_[i];
  }
  // The total is recounted from the buckets copied, so that it agrees with them.
  total_ = total;
  sum_ = get(live.sum_);
  min_ = get(live.min_);
  max_ = get(live.max_);
  if (total_) {
    // max/min may lag the buckets by a request: widen them to the buckets'.
    std::size_t hi = bucket_count, lo = 0;
    while (hi > 0 && counts_[hi - 1] == 0) --hi;
    while (counts_[lo] == 0) ++lo;
    max_ = std::max(max_, lowest(hi - 1));
    min_ = std::min(min_, highest(lo));
  }
}

histogram histogram::since(const histogram& earlier) const noexcept {
  histogram d;
  std::size_t lo = bucket_count, hi = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    const std::uint64_t c = counts_[i] >= earlier.counts_[i] ? counts_[i] - earlier.counts_[i] : 0;
    d.counts_[i] = c;
    d.total_ += c;
    if (c) {
      lo = std::min(lo, i);
      hi = i;
    }
  }
  d.sum_ = sum_ >= earlier.sum_ ? sum_ - earlier.sum_ : 0;
  if (d.total_) {
    d.min_ = std::max(lowest(lo), min_);
    d.max_ = std::min(highest(hi), max_);
    if (d.max_ < d.min_) d.max_ = d.min_;
  }
  return d;
}

void histogram::clear() noexcept { *this = histogram{}; }

std::uint64_t histogram::percentile(double q) const noexcept {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q / 100.0 * static_cast<double>(total_)));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest(i), min(), max_);
  }
  return max_;
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> histogram::sparse() const {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (std::size_t i = 0; i < bucket_count; ++i)
    if (counts_[i]) out.emplace_back(static_cast<std::uint32_t>(i), counts_[i]);
  return out;
}

}  // namespace pollster::cli
