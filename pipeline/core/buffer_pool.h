// BufferPool: recycles large byte buffers between threads, so that a buffer of megabytes is
// not freshly allocated (and page-faulted in, 4 KiB at a time) for every block.
//
// make_shared() hands out a std::string with the capacity of a returned buffer when one is
// waiting; when the last shared_ptr to it goes (on whichever thread), the buffer is cleared
// and goes back, or is freed when the pool is full. Any number of threads; lock-free. The
// pool must outlive every buffer it handed out.
#pragma once

#include <boost/lockfree/queue.hpp>

#include <memory>
#include <string>

namespace klaxon {

class BufferPool {
 public:
  explicit BufferPool(size_t max_buffers) : free_(max_buffers) {}
  ~BufferPool() {
    std::string* s = nullptr;
    while (free_.pop(s)) delete s;
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  std::shared_ptr<std::string> make_shared() {
    std::string* s = nullptr;
    if (!free_.pop(s)) s = new std::string();
    return std::shared_ptr<std::string>(s, [this](std::string* p) {
      p->clear();
      if (!free_.bounded_push(p)) delete p;
    });
  }

 private:
  boost::lockfree::queue<std::string*> free_;
};

}  // namespace klaxon
