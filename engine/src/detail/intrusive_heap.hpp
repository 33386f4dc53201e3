// A binary min-heap of pointers ordered by T::wake, where each item knows its
// own position (T::heap_index) so it can be removed from the middle in
// O(log n). Hand-written because std::priority_queue cannot erase: a
// cancelled wait must leave the heap at once, not when its time comes. This
// is how a million sleeping waits cost one heap slot each instead of a timer
// and a coroutine frame each.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pollster::detail {

template <class T>
class intrusive_heap {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  bool empty() const noexcept { return items_.empty(); }
  std::size_t size() const noexcept { return items_.size(); }
  T* top() const noexcept { return items_.front(); }
  static bool contains(const T* t) noexcept { return t->heap_index != npos; }

  void push(T* t) {
    t->heap_index = items_.size();
    items_.push_back(t);
    up(t->heap_index);
  }
  T* pop() noexcept {
    T* t = items_.front();
    erase(t);
    return t;
  }
  void erase(T* t) noexcept {
    const std::size_t i = t->heap_index;
    if (i == npos) return;
    const std::size_t last = items_.size() - 1;
    if (i != last) {
      place(i, items_[last]);
      items_.pop_back();
      if (i > 0 && less(items_[i], items_[(i - 1) / 2]))
        up(i);
      else
        down(i);
    } else {
      items_.pop_back();
    }
    t->heap_index = npos;
  }
  template <class F>
  void for_each(F f) const {
    for (T* t : items_) f(t);
  }

 private:
  static bool less(const T* a, const T* b) noexcept { return a->wake < b->wake; }
  void place(std::size_t i, T* t) noexcept {
    items_[i] = t;
    t->heap_index = i;
  }
  void up(std::size_t i) noexcept {
    T* t = items_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!less(t, items_[parent])) break;
      place(i, items_[parent]);
      i = parent;
    }
    place(i, t);
  }
  void down(std::size_t i) noexcept {
    T* t = items_[i];
    const std::size_t n = items_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less(items_[child + 1], items_[child])) ++child;
      if (!less(items_[child], t)) break;
      place(i, items_[child]);
      i = child;
    }
    place(i, t);
  }

  std::vector<T*> items_;
};

}  // namespace pollster::detail
