// File writes off the streaming thread: one process-wide pool of threads
// (GThreadPool), and per-owner queues that keep each owner's jobs in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace callstream {

// Jobs submitted to one WriteQueue run one at a time, in submission order,
// on a thread of the shared pool; different queues run in parallel.
class WriteQueue {
 public:
  WriteQueue() = default;
  ~WriteQueue();  // drains first
  WriteQueue(const WriteQueue &) = delete;
  WriteQueue &operator=(const WriteQueue &) = delete;

  void submit(std::function<void()> job);
  // Blocks until every job submitted so far has run.
  void drain();

 private:
  static void run_pending(void *queue, void *unused);

  std::mutex mutex_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> jobs_;
  bool scheduled_ = false;  // a pool thread owns the queue while true
};

}  // namespace callstream
