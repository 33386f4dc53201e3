// A growable byte buffer that always keeps `padding` spare bytes after its
// contents, so simdjson can parse it in place (it reads past the end).
// Hand-written rather than std::string/vector: those cannot promise the spare
// bytes without a resize that zero-fills, and we reuse one per connection.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <string_view>
#include <utility>

namespace pollster::detail {

class padded_buffer {
 public:
  static constexpr std::size_t padding = 64;  // == SIMDJSON_PADDING (checked in answer_parser.cpp)
  /// Buffers past this size are mapped pages of their own (mmap), given back
  /// whole when freed: through malloc, glibc's sliding mmap threshold would
  /// soon serve a list's megabytes from the heap, where they fragment it and
  /// stay resident after the answer is gone.
  static constexpr std::size_t mapped_from = 128 * 1024;
  /// What a connection keeps between answers (a poll's answer fits many
  /// times over); more is given back once an answer has been acted on.
  static constexpr std::size_t kept_capacity = 64 * 1024;

  padded_buffer() = default;
  padded_buffer(const padded_buffer&) = delete;
  padded_buffer& operator=(const padded_buffer&) = delete;
  padded_buffer(padded_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  padded_buffer& operator=(padded_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  ~padded_buffer() { release(); }

  void clear() noexcept { size_ = 0; }
  /// Empties the buffer and gives back memory beyond `keep` bytes: a
  /// connection that once carried a list of 100,000 entries does not hold
  /// its 30 MB for good (every connection of the pool would, in turn).
  void clear_and_trim(std::size_t keep) noexcept {
    size_ = 0;
    if (capacity_ > keep) release();
  }
  void append(const char* p, std::size_t n) {
    reserve(size_ + n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void reserve(std::size_t n) {
    if (n + padding <= capacity_) return;
    std::size_t cap = capacity_ ? capacity_ : 4096;
    while (cap < n + padding) cap *= 2;
    grow_to(cap);
  }
  /// Room for exactly `n` bytes (a Content-Length): no doubling past it.
  void reserve_exact(std::size_t n) {
    if (n + padding > capacity_) grow_to(n + padding);
  }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  /// Bytes readable from data(): size() plus at least `padding`.
  std::size_t capacity() const noexcept { return capacity_; }
  std::string_view view() const noexcept { return {data_, size_}; }

 private:
  void grow_to(std::size_t cap) {
    char* fresh = nullptr;
    if (cap >= mapped_from) {
      void* p = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      fresh = static_cast<char*>(p);
    } else {
      fresh = new char[cap];
    }
    if (size_) std::memcpy(fresh, data_, size_);
    release();
    data_ = fresh;
    capacity_ = cap;
  }
  void release() noexcept {
    if (!data_) return;
    if (capacity_ >= mapped_from) ::munmap(data_, capacity_);
    else delete[] data_;
    data_ = nullptr;
    capacity_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace pollster::detail
