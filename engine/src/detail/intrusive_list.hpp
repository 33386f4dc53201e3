// A minimal intrusive doubly linked list. Hand-written because the nodes live
// in coroutine frames: linking one must not allocate (a million waits), and
// unlinking from the middle must be O(1) (a wait that gives up).
#pragma once

#include <cstddef>

namespace pollster::detail {

template <class T>
struct list_hook {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

template <class T>
class intrusive_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  T* front() const noexcept { return head_; }

  void push_back(T* n) noexcept {
    n->prev = tail_;
    n->next = nullptr;
    n->linked = true;
    (tail_ ? tail_->next : head_) = n;
    tail_ = n;
    ++size_;
  }
  void erase(T* n) noexcept {
    if (!n->linked) return;
    (n->prev ? n->prev->next : head_) = n->next;
    (n->next ? n->next->prev : tail_) = n->prev;
    n->prev = n->next = nullptr;
    n->linked = false;
    --size_;
  }
  T* pop_front() noexcept {
    T* n = head_;
    if (n) erase(n);
    return n;
  }
  template <class F>
  void for_each(F f) {
    for (T* n = head_; n;) {
      T* next = n->next;  // f may unlink n
      f(n);
      n = next;
    }
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace pollster::detail
