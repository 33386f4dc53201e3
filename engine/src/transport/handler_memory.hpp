// Memory for a connection's socket operations, reused from one request to the
// next.
//
// Why by hand: Asio recycles handler memory per thread, but only blocks up to
// 255 chunks (about 1 KiB). An operation on ssl::stream<beast::tcp_stream>
// carries its whole handler chain (write_op, SSL io_op, Beast transfer_op, the
// coroutine's handler) and is larger, so without this every request's write
// and read went to aligned_alloc (docs/performance.md). Asio's own
// recycling_allocator has the same size limit, and Boost has no arena
// allocator, hence this small one: a few fixed slots, first fit, with the heap
// as fallback so that correctness never depends on the slot count or size.
//
// Lifetime: an operation can outlive its connection (its handler is destroyed
// when the io_context shuts down), so the memory is its own heap object,
// freed when the connection has let go of it and no slot is in use.
// Single-threaded, like the connection that owns it (no atomics).
#pragma once

#include <array>
#include <cstddef>
#include <new>

namespace pollster::detail {

class handler_memory {
 public:
  /// In flight at most on a connection: its deadline's timer wait, one write
  /// or one read (Asio frees an operation's memory before it runs the
  /// handler that starts the next), and one spare.
  static constexpr std::size_t slots = 4;
  static constexpr std::size_t slot_size = 2048;

  static handler_memory* create() { return new handler_memory; }
  /// The owner lets go; freed now or when the last block in use (a slot or
  /// the heap's: deallocate looks at the slots either way) is released.
  void release_owner() noexcept {
    owned_ = false;
    if (in_use_ == 0) delete this;
  }

  void* allocate(std::size_t n, std::size_t align) {
    if (n <= slot_size && align <= alignof(std::max_align_t)) {
      for (auto& s : slots_) {
        if (!s.used) {
          s.used = true;
          ++in_use_;
          return s.bytes;
        }
      }
    }
    void* p = ::operator new(n, std::align_val_t(align));
    ++heap_allocations_;
    ++in_use_;
    return p;
  }
  void deallocate(void* p, std::size_t align) noexcept {
    bool slot = false;
    for (auto& s : slots_) {
      if (p == s.bytes) {
        s.used = false;
        slot = true;
        break;
      }
    }
    if (!slot) ::operator delete(p, std::align_val_t(align));
    if (--in_use_ == 0 && !owned_) delete this;
  }

  /// Allocations the slots could not take (too large, or all in use).
  std::size_t heap_allocations() const noexcept { return heap_allocations_; }

 private:
  handler_memory() = default;
  struct slot {
    alignas(std::max_align_t) unsigned char bytes[slot_size];
    bool used = false;
  };
  std::array<slot, slots> slots_;
  std::size_t in_use_ = 0;
  std::size_t heap_allocations_ = 0;
  bool owned_ = true;
};

/// The standard allocator interface over a handler_memory, for
/// asio::bind_allocator: every operation of a composed chain (Beast's, the
/// SSL stream's, the socket's) allocates through its final handler's allocator.
template <class T>
class handler_allocator {
 public:
  using value_type = T;
  explicit handler_allocator(handler_memory& m) noexcept : mem_(&m) {}
  template <class U>
  handler_allocator(const handler_allocator<U>& other) noexcept : mem_(other.memory()) {}

  T* allocate(std::size_t n) { return static_cast<T*>(mem_->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, std::size_t) noexcept { mem_->deallocate(p, alignof(T)); }

  handler_memory* memory() const noexcept { return mem_; }
  template <class U>
  bool operator==(const handler_allocator<U>& other) const noexcept {
    return mem_ == other.memory();
  }

 private:
  handler_memory* mem_;
};

/// Owns a handler_memory for an object or a coroutine frame: lets go of it
/// when destroyed (the memory itself lasts until its last slot is released).
class handler_memory_owner {
 public:
  handler_memory_owner() : mem_(handler_memory::create()) {}
  ~handler_memory_owner() { mem_->release_owner(); }
  handler_memory_owner(const handler_memory_owner&) = delete;
  handler_memory_owner& operator=(const handler_memory_owner&) = delete;

  handler_allocator<std::byte> allocator() const noexcept {
    return handler_allocator<std::byte>(*mem_);
  }
  handler_memory& memory() const noexcept { return *mem_; }

 private:
  handler_memory* mem_;
};

}  // namespace pollster::detail
