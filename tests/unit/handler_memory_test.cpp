// handler_memory: the slots are reused, anything they cannot take goes to the
// heap, and the memory outlives its owner while a slot is in use (under ASan
// a use after free or a leak here fails the test).
#include "transport/handler_memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pollster::detail {
namespace {

TEST(HandlerMemory, SlotsAreReusedWithoutTheHeap) {
  handler_memory* m = handler_memory::create();
  void* first = m->allocate(300, 8);
  m->deallocate(first, 8);
  void* again = m->allocate(1200, 8);
  EXPECT_EQ(again, first);  // the same slot, whatever the size that fits
  m->deallocate(again, 8);
  EXPECT_EQ(m->heap_allocations(), 0u);
  m->release_owner();
}

TEST(HandlerMemory, FullOrTooLargeFallsBackToTheHeap) {
  handler_memory* m = handler_memory::create();
  std::vector<void*> held;
  for (std::size_t i = 0; i < handler_memory::slots; ++i) held.push_back(m->allocate(64, 16));
  EXPECT_EQ(m->heap_allocations(), 0u);
  void* extra = m->allocate(64, 16);  // every slot in use
  void* large = m->allocate(handler_memory::slot_size + 1, 8);
  void* aligned = m->allocate(64, 64);  // stricter than a slot's alignment
  EXPECT_EQ(m->heap_allocations(), 3u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 64, 0u);
  for (void* p : held) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignof(std::max_align_t), 0u);
  m->deallocate(extra, 16);
  m->deallocate(large, 8);
  m->deallocate(aligned, 64);
  for (void* p : held) m->deallocate(p, 16);
  m->release_owner();
}

TEST(HandlerMemory, OutlivesItsOwnerWhileASlotIsInUse) {
  handler_memory* m = handler_memory::create();
  auto* p = static_cast<unsigned char*>(m->allocate(100, 8));
  m->release_owner();  // an operation still holds p: not freed yet
  p[99] = 1;           // still writable (ASan would report a use after free)
  m->deallocate(p, 8);  // the last release frees it (LeakSanitizer checks)
}

// A heap block keeps the memory alive too: its deallocate still looks at the
// slots (found in review: only slots were counted).
TEST(HandlerMemory, OutlivesItsOwnerWhileAHeapBlockIsInUse) {
  handler_memory* m = handler_memory::create();
  void* large = m->allocate(handler_memory::slot_size * 2, 8);
  EXPECT_EQ(m->heap_allocations(), 1u);
  m->release_owner();
  m->deallocate(large, 8);  // ASan reports a use after free if m was deleted
}

TEST(HandlerMemory, AllocatorRebindsToTheSameMemory) {
  handler_memory* m = handler_memory::create();
  handler_allocator<std::byte> bytes(*m);
  handler_allocator<std::uint64_t> words(bytes);
  EXPECT_TRUE(bytes == words);
  std::uint64_t* w = words.allocate(4);
  w[3] = 7;
  words.deallocate(w, 4);
  EXPECT_EQ(m->heap_allocations(), 0u);
  m->release_owner();
}

}  // namespace
}  // namespace pollster::detail
