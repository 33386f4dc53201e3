// Memory for the engine's coroutine frames, recycled per thread.
//
// Why: Asio recycles awaitable frames per thread too, but keeps only 2 blocks
// (BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE, which the engine may not change:
// it changes thread_info_base's layout for every user of Asio in the program)
// of at most 1020 bytes. A poll nests more frames than that (poll, request,
// exchange, and Asio's own for each socket or timer wait), and an exchange's
// frame is larger, so every poll went to aligned_alloc, 4 to 5 times
// (docs/performance.md). With the engine's frames here, Asio's cache is left
// to its own wait frames, one at a time per worker. Here: free lists
// per power-of-two size class, deep enough for the frames many connections
// have in flight (64 connections measured: docs/performance.md); the heap
// past the largest class or a full list, so that correctness never depends
// on the sizes. The lists cost every thread of the program 3 KiB of TLS.
//
// How: ENGINE_POOLED_FRAMES(Class) makes every asio::awaitable member
// coroutine of Class use pooled_frame, Asio's own promise with this memory
// (std::coroutine_traits may be specialised on the engine's own types; the
// promise adds no data, only its allocation functions and an await_transform
// that hands Asio the handle typed as its own). It derives from Asio's
// detail::awaitable_frame (Boost 1.81): an upgrade of Boost must check it,
// the static_assert in the macro checks the layout.
//
// Lifetime: a block may be freed on another thread than the one that took
// it (it joins that thread's lists), or after its thread's lists are gone
// (it goes back to the heap).
#pragma once

#include <bit>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <coroutine>
#include <cstddef>
#include <new>

namespace pollster::detail {

class frame_memory {
 public:
  static constexpr std::size_t smallest = 128;
  static constexpr std::size_t classes = 6;  // 128 .. 4096 bytes
  /// Free blocks kept per class and thread: the frames freed in a burst
  /// (polls of many connections answered together) before they are taken again.
  static constexpr std::size_t depth = 64;

  static void* allocate(std::size_t n) {
    const std::size_t c = size_class(n);
    if (c >= classes) return ::operator new(n);
    lists& l = mine();
    if (l.count[c] > 0) return l.free[c][--l.count[c]];
    return ::operator new(smallest << c);
  }
  static void deallocate(void* p, std::size_t n) noexcept {
    const std::size_t c = size_class(n);
    lists& l = mine();
    if (c >= classes || l.gone || l.count[c] == depth) {
      ::operator delete(p);
      return;
    }
    if (!l.reaper_armed) arm_reaper(l);
    l.free[c][l.count[c]++] = p;
  }

  static constexpr std::size_t size_class(std::size_t n) noexcept {
    return n <= smallest ? 0 : static_cast<std::size_t>(std::bit_width((n - 1) / smallest));
  }

 private:
  // Trivially destructible, so usable until the thread ends; the reaper
  // (destroyed with the thread's other thread_locals) gives the blocks back.
  struct lists {
    void* free[classes][depth];
    std::size_t count[classes];
    bool reaper_armed;
    bool gone;
  };
  struct reaper {
    lists* l;
    ~reaper() {
      for (std::size_t c = 0; c < classes; ++c)
        while (l->count[c] > 0) ::operator delete(l->free[c][--l->count[c]]);
      l->gone = true;
    }
  };
  static lists& mine() noexcept {
    static thread_local lists l{};
    return l;
  }
  static void arm_reaper(lists& l) noexcept {
    static thread_local reaper r{&l};
    l.reaper_armed = true;
    (void)r;
  }
};

/// frame_memory as an allocator, for the engine's own posted handlers (a
/// delivery's post): Asio's default would take its 2-block cache, which the
/// caller's handlers (an any_completion_handler's box) need.
template <class T>
struct frame_allocator {
  using value_type = T;
  frame_allocator() noexcept = default;
  template <class U>
  frame_allocator(const frame_allocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t));
    return static_cast<T*>(frame_memory::allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { frame_memory::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const frame_allocator<U>&) const noexcept { return true; }
};

/// Asio's promise for awaitable<T>, its frame from frame_memory. Asio's
/// awaitable accepts only its own promise's handle when co_awaited: the
/// handle given is that of the same frame, typed as Asio's (same layout).
template <class T>
struct pooled_frame : boost::asio::detail::awaitable_frame<T, boost::asio::any_io_executor> {
  using executor = boost::asio::any_io_executor;
  using base = boost::asio::detail::awaitable_frame<T, executor>;

  static void* operator new(std::size_t n) { return frame_memory::allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_memory::deallocate(p, n); }

  template <class U>
  struct awaiter {
    boost::asio::awaitable<U, executor> a;
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) {
      a.await_suspend(std::coroutine_handle<base>::from_address(h.address()));
    }
    U await_resume() { return a.await_resume(); }
  };
  using base::await_transform;
  template <class U>
  awaiter<U> await_transform(boost::asio::awaitable<U, executor> a) const {
    return awaiter<U>{base::await_transform(std::move(a))};
  }
};

}  // namespace pollster::detail

// Asio derives the coroutine handle from the promise as its own type: the
// promise must be laid out exactly as Asio's.
#define ENGINE_POOLED_FRAMES(Class)                                                              \
  template <class T, class... Args>                                                              \
  struct std::coroutine_traits<boost::asio::awaitable<T, boost::asio::any_io_executor>, Class&, \
                               Args...> {                                                        \
    using promise_type = ::pollster::detail::pooled_frame<T>;                                    \
    static_assert(sizeof(promise_type) ==                                                         \
                      sizeof(boost::asio::detail::awaitable_frame<T, boost::asio::any_io_executor>) && \
                  alignof(promise_type) ==                                                        \
                      alignof(boost::asio::detail::awaitable_frame<T, boost::asio::any_io_executor>)); \
  }
