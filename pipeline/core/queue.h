// BoundedQueue: the bounded, lock-free hand-over between pipeline stages.
//
// A boost::lockfree::queue of owning pointers (fixed capacity, never allocates after
// construction) plus a counting semaphore so that an idle consumer sleeps instead of spinning
// (2 cores: a spinning consumer would steal the producer's core). try_push() fails when the
// queue is full: that *is* the backpressure signal (TCP readers pause, UDP drops and counts).
// Any number of producer and consumer threads.
#pragma once

#include <boost/lockfree/queue.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <semaphore>

namespace klaxon {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : q_(capacity), capacity_(capacity), items_(0) {}
  ~BoundedQueue() {
    T* p = nullptr;
    while (q_.pop(p)) delete p;
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Takes ownership on success; on failure (full) the caller keeps it.
  bool try_push(std::unique_ptr<T>& item) {
    if (size_.load(std::memory_order_relaxed) >= capacity_) return false;
    if (!q_.bounded_push(item.get())) return false;
    item.release();
    size_.fetch_add(1, std::memory_order_relaxed);
    items_.release();
    return true;
  }

  // Waits up to `timeout` for an item; nullptr when none came.
  std::unique_ptr<T> pop_wait(std::chrono::milliseconds timeout) {
    if (!items_.try_acquire_for(timeout)) return nullptr;
    return take();
  }

  std::unique_ptr<T> try_pop() {
    if (!items_.try_acquire()) return nullptr;
    return take();
  }

  size_t size() const { return size_.load(std::memory_order_relaxed); }
  size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<T> take() {
    T* p = nullptr;
    // The semaphore counted a successful push, so the element is there (pop may briefly lose
    // a race with the push's publication; retry).
    while (!q_.pop(p)) {
    }
    size_.fetch_sub(1, std::memory_order_relaxed);
    return std::unique_ptr<T>(p);
  }

  boost::lockfree::queue<T*> q_;
  const size_t capacity_;
  std::atomic<size_t> size_{0};
  std::counting_semaphore<> items_;
};

}  // namespace klaxon
