// A growable byte buffer that always keeps `padding` spare bytes after its
// contents, so simdjson can parse it in place (it reads past the end).
// Hand-written rather than std::string/vector: those cannot promise the spare
// bytes without a resize that zero-fills, and we reuse one per connection.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace pollster::detail {

class padded_buffer {
 public:
  static constexpr std::size_t padding = 64;  // == SIMDJSON_PADDING (checked in answer_parser.cpp)

  void clear() noexcept { size_ = 0; }
  /// Empties the buffer and gives back memory beyond `keep` bytes: a
  /// connection that once carried a list of 100,000 entries does not hold
  /// its 30 MB for good (every connection of the pool would, in turn).
  void clear_and_trim(std::size_t keep) noexcept {
    size_ = 0;
    if (capacity_ > keep) {
      data_.reset();
      capacity_ = 0;
    }
  }
  void append(const char* p, std::size_t n) {
    reserve(size_ + n);
    std::memcpy(data_.get() + size_, p, n);
    size_ += n;
  }
  void reserve(std::size_t n) {
    if (n + padding <= capacity_) return;
    std::size_t cap = capacity_ ? capacity_ : 4096;
    while (cap < n + padding) cap *= 2;
    auto fresh = std::make_unique_for_overwrite<char[]>(cap);
    if (size_) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = cap;
  }
  /// Room for exactly `n` bytes (a Content-Length): no doubling past it.
  void reserve_exact(std::size_t n) {
    if (n + padding <= capacity_) return;
    auto fresh = std::make_unique_for_overwrite<char[]>(n + padding);
    if (size_) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = n + padding;
  }
  const char* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  /// Bytes readable from data(): size() plus at least `padding`.
  std::size_t capacity() const noexcept { return capacity_; }
  std::string_view view() const noexcept { return {data_.get(), size_}; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace pollster::detail
