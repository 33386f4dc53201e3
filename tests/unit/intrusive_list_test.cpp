#include <gtest/gtest.h>

#include <vector>

#include "detail/intrusive_list.hpp"

using pollster::detail::intrusive_list;
using pollster::detail::list_hook;

namespace {
struct node : list_hook<node> {
  explicit node(int v) : value(v) {}
  int value;
};

std::vector<int> contents(intrusive_list<node>& l) {
  std::vector<int> v;
  l.for_each([&](node* n) { v.push_back(n->value); });
  return v;
}
using V = std::vector<int>;
}  // namespace

TEST(IntrusiveList, StartsEmpty) {
  intrusive_list<node> l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.size(), 0u);
  EXPECT_EQ(l.front(), nullptr);
  EXPECT_EQ(l.pop_front(), nullptr);
}

TEST(IntrusiveList, FifoOrder) {
  node a(1), b(2), c(3);
  intrusive_list<node> l;
  for (node* n : {&a, &b, &c}) l.push_back(n);
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(contents(l), (V{1, 2, 3}));
  EXPECT_EQ(l.pop_front(), &a);
  EXPECT_FALSE(a.linked);
  EXPECT_EQ(l.pop_front(), &b);
  EXPECT_EQ(l.pop_front(), &c);
  EXPECT_EQ(l.pop_front(), nullptr);
  EXPECT_TRUE(l.empty());
}

TEST(IntrusiveList, EraseMiddleHeadTail) {
  node a(1), b(2), c(3), d(4), e(5);
  intrusive_list<node> l;
  for (node* n : {&a, &b, &c, &d, &e}) l.push_back(n);
  l.erase(&c);
  EXPECT_EQ(contents(l), (V{1, 2, 4, 5}));
  EXPECT_FALSE(c.linked);
  l.erase(&a);
  EXPECT_EQ(contents(l), (V{2, 4, 5}));
  EXPECT_EQ(l.front(), &b);
  l.erase(&e);
  EXPECT_EQ(contents(l), (V{2, 4}));
  EXPECT_EQ(l.size(), 2u);
  // Appending after erasing the tail links after the new tail.
  l.push_back(&e);
  EXPECT_EQ(contents(l), (V{2, 4, 5}));
  EXPECT_EQ(l.pop_front(), &b);
  EXPECT_EQ(l.pop_front(), &d);
  EXPECT_EQ(l.pop_front(), &e);
  EXPECT_TRUE(l.empty());
}

TEST(IntrusiveList, EraseUnlinkedIsANoOp) {
  node a(1), b(2), stray(9);
  intrusive_list<node> l;
  for (node* n : {&a, &b}) l.push_back(n);
  l.erase(&stray);
  l.erase(&a);
  l.erase(&a);  // twice
  EXPECT_EQ(l.size(), 1u);
  EXPECT_EQ(contents(l), (V{2}));
}

TEST(IntrusiveList, EraseOnlyElement) {
  node a(1);
  intrusive_list<node> l;
  l.push_back(&a);
  l.erase(&a);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.front(), nullptr);
  l.push_back(&a);  // relink
  EXPECT_EQ(l.front(), &a);
  EXPECT_EQ(l.size(), 1u);
}

TEST(IntrusiveList, ForEachMayUnlinkTheCurrentNode) {
  std::vector<node> nodes;
  nodes.reserve(10);
  for (int i = 0; i < 10; ++i) nodes.emplace_back(i);
  intrusive_list<node> l;
  for (auto& n : nodes) l.push_back(&n);
  l.for_each([&](node* n) {
    if (n->value % 2) l.erase(n);
  });
  EXPECT_EQ(contents(l), (V{0, 2, 4, 6, 8}));
  EXPECT_EQ(l.size(), 5u);
}
