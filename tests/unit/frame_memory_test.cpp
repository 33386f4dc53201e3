// frame_memory: a freed frame is taken again from its size class, not from the
// heap; and coroutines of a class with ENGINE_POOLED_FRAMES nest, return
// values and throw as Asio's own do (the promise hands Asio its handle).
#include "transport/frame_memory.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>
#include <vector>

namespace pollster::detail {
namespace {

namespace asio = boost::asio;

TEST(FrameMemory, SizeClassesArePowersOfTwoFrom128) {
  EXPECT_EQ(frame_memory::size_class(1), 0u);
  EXPECT_EQ(frame_memory::size_class(128), 0u);
  EXPECT_EQ(frame_memory::size_class(129), 1u);
  EXPECT_EQ(frame_memory::size_class(256), 1u);
  EXPECT_EQ(frame_memory::size_class(257), 2u);
  EXPECT_EQ(frame_memory::size_class(4096), frame_memory::classes - 1);
  EXPECT_EQ(frame_memory::size_class(4097), frame_memory::classes);  // the heap's
}

TEST(FrameMemory, AFreedBlockIsTakenAgainByItsClass) {
  void* p = frame_memory::allocate(300);
  frame_memory::deallocate(p, 300);
  void* q = frame_memory::allocate(500);  // same class (512)
  EXPECT_EQ(q, p);
  void* other = frame_memory::allocate(300);  // the list is empty again
  EXPECT_NE(other, q);
  frame_memory::deallocate(other, 300);
  frame_memory::deallocate(q, 500);
}

// Coroutines of an engine class, as client::impl's and connection's are (the
// specialisation must come before their definitions: GCC says so otherwise).
struct pooled {
  asio::io_context& ioc;
  void* last_frame = nullptr;

  asio::awaitable<int> twice(int x);
  asio::awaitable<void> big();
  asio::awaitable<void> fails();
  asio::awaitable<int> root();
};

}  // namespace
}  // namespace pollster::detail

ENGINE_POOLED_FRAMES(pollster::detail::pooled);

namespace pollster::detail {
namespace {

asio::awaitable<int> pooled::twice(int x) {
  asio::steady_timer t(ioc);
  t.expires_after(std::chrono::milliseconds(0));
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return 2 * x;
}
// Over Asio's 1,020-byte recycling limit: only frame_memory reuses it.
asio::awaitable<void> pooled::big() {
  volatile unsigned char bytes[1500];
  bytes[0] = 1;
  last_frame = const_cast<unsigned char*>(&bytes[0]);
  co_await twice(1);
}
asio::awaitable<void> pooled::fails() {
  co_await twice(1);
  throw std::runtime_error("from a pooled frame");
}
asio::awaitable<int> pooled::root() {
  int sum = co_await twice(3);
  sum += co_await twice(4);
  try {
    co_await fails();
  } catch (const std::runtime_error&) {
    sum += 100;
  }
  co_return sum;
}

TEST(FrameMemory, PooledCoroutinesNestReturnAndThrow) {
  asio::io_context ioc;
  pooled p{ioc};
  int result = 0;
  asio::co_spawn(ioc, p.root(), [&](std::exception_ptr e, int r) {
    EXPECT_FALSE(e);
    result = r;
  });
  ioc.run();
  EXPECT_EQ(result, 114);
}

TEST(FrameMemory, ALargeFrameIsReusedNotReturnedToTheHeap) {
  asio::io_context ioc;
  pooled p{ioc};
  asio::co_spawn(ioc, p.big(), asio::detached);
  ioc.run();
  void* first = p.last_frame;
  // Had the frame gone back to the heap, one of these blocks (of every size
  // near the frame's) would take its place.
  std::vector<void*> blockers;
  for (std::size_t n = 1504; n <= 2560; n += 8) blockers.push_back(::operator new(n));
  ioc.restart();
  asio::co_spawn(ioc, p.big(), asio::detached);
  ioc.run();
  EXPECT_EQ(p.last_frame, first);
  for (void* b : blockers) ::operator delete(b);
}

}  // namespace
}  // namespace pollster::detail
