// The sleeping waits' min-heap: ordered pops, O(log n) erase from the middle.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "detail/intrusive_heap.hpp"
#include "poller/rng.hpp"

using pollster::detail::intrusive_heap;

namespace {
struct item {
  explicit item(long w, int i = 0) : wake(w), id(i) {}
  long wake;
  int id;
  std::size_t heap_index = intrusive_heap<item>::npos;
};
using heap = intrusive_heap<item>;
}  // namespace

TEST(IntrusiveHeap, PopsInWakeOrder) {
  std::vector<item> items;
  for (long w : {50, 10, 40, 20, 30, 10, 60, 0}) items.emplace_back(w);
  heap h;
  for (auto& i : items) h.push(&i);
  EXPECT_EQ(h.size(), items.size());
  long prev = -1;
  while (!h.empty()) {
    item* t = h.pop();
    EXPECT_GE(t->wake, prev);
    EXPECT_FALSE(heap::contains(t));
    prev = t->wake;
  }
  EXPECT_EQ(prev, 60);
}

TEST(IntrusiveHeap, TopIsTheEarliest) {
  item a(5), b(3), c(9);
  heap h;
  h.push(&a);
  EXPECT_EQ(h.top(), &a);
  h.push(&b);
  EXPECT_EQ(h.top(), &b);
  h.push(&c);
  EXPECT_EQ(h.top(), &b);
  EXPECT_TRUE(heap::contains(&a) && heap::contains(&b) && heap::contains(&c));
}

TEST(IntrusiveHeap, EraseTopMiddleLastAndAbsent) {
  std::vector<item> items;
  for (long w = 0; w < 10; ++w) items.emplace_back(w * 10);
  heap h;
  for (auto& i : items) h.push(&i);
  h.erase(&items[0]);  // the top
  EXPECT_EQ(h.top(), &items[1]);
  h.erase(&items[5]);  // somewhere in the middle
  h.erase(&items[9]);  // likely the last slot
  h.erase(&items[9]);  // twice: no-op
  item stranger(1);
  h.erase(&stranger);  // never pushed: no-op
  EXPECT_EQ(h.size(), 7u);
  std::vector<long> order;
  while (!h.empty()) order.push_back(h.pop()->wake);
  EXPECT_EQ(order, (std::vector<long>{10, 20, 30, 40, 60, 70, 80}));
}

TEST(IntrusiveHeap, RandomOperationsMatchAReferenceMultimap) {
  pollster::detail::rng r(2718);
  std::vector<std::unique_ptr<item>> pool;
  for (int i = 0; i < 2000; ++i) pool.push_back(std::make_unique<item>(0, i));
  heap h;
  std::multimap<long, int> ref;  // wake -> id of what is in the heap
  auto ref_erase = [&](item* t) {
    auto [lo, hi] = ref.equal_range(t->wake);
    for (auto it = lo; it != hi; ++it)
      if (it->second == t->id) {
        ref.erase(it);
        return;
      }
    FAIL() << "not in reference";
  };
  for (int step = 0; step < 100000; ++step) {
    item* t = pool[r.next() % pool.size()].get();
    switch (r.next() % 3) {
      case 0:  // push when absent (re-schedule with a new time)
        if (!heap::contains(t)) {
          t->wake = static_cast<long>(r.next() % 1000);
          h.push(t);
          ref.emplace(t->wake, t->id);
        }
        break;
      case 1:  // erase (cancel)
        if (heap::contains(t)) {
          ref_erase(t);
          h.erase(t);
        }
        break;
      case 2:  // pop the earliest (wake up)
        if (!h.empty()) {
          item* top = h.pop();
          ASSERT_EQ(top->wake, ref.begin()->first) << "step " << step;
          ref_erase(top);
        }
        break;
    }
    ASSERT_EQ(h.size(), ref.size());
    if (!h.empty()) ASSERT_EQ(h.top()->wake, ref.begin()->first) << "step " << step;
  }
  // Every item's own index says where it is.
  std::size_t counted = 0;
  h.for_each([&](item* t) {
    EXPECT_TRUE(heap::contains(t));
    ++counted;
  });
  EXPECT_EQ(counted, h.size());
  for (auto& p : pool) EXPECT_EQ(heap::contains(p.get()), ref.count(p->wake) &&
                                 std::any_of(ref.begin(), ref.end(), [&](auto& kv) {
                                   return kv.second == p->id;
                                 }));
}

TEST(IntrusiveHeap, WorksWithSteadyClockTimePoints) {
  using tp = std::chrono::steady_clock::time_point;
  struct wait {
    tp wake;
    std::size_t heap_index = intrusive_heap<wait>::npos;
  };
  const tp t0{};
  wait a{t0 + std::chrono::seconds(3)}, b{t0 + std::chrono::seconds(1)}, c{tp::max()};
  intrusive_heap<wait> h;
  h.push(&c);
  h.push(&a);
  h.push(&b);
  EXPECT_EQ(h.pop(), &b);
  EXPECT_EQ(h.pop(), &a);
  EXPECT_EQ(h.pop(), &c);
}
