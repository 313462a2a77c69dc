#include "common/write_pool.h"

#include <glib.h>

#include <algorithm>
#include <utility>

namespace callstream {

namespace {

// Non-exclusive: the threads are GLib's shared ones, started on demand and
// kept only while there is work, so an idle process holds none of them.
GThreadPool *shared_write_pool(GFunc run_queue) {
  static GThreadPool *pool = nullptr;
  static gsize created = 0;
  if (g_once_init_enter(&created)) {
    const gint max_threads =
        std::max(2, static_cast<gint>(g_get_num_processors()));
    pool = g_thread_pool_new(run_queue, nullptr, max_threads, FALSE, nullptr);
    g_once_init_leave(&created, 1);
  }
  return pool;
}

}  // namespace

WriteQueue::~WriteQueue() { drain(); }

void WriteQueue::submit(std::function<void()> job) {
  if (!job)
    return;
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (!scheduled_) {
      scheduled_ = true;
      schedule = true;
    }
  }
  if (!schedule)
    return;
  g_autoptr(GError) error = nullptr;
  // On failure GLib still queues the item; it runs when a thread frees up.
  if (!g_thread_pool_push(shared_write_pool(run_pending), this, &error))
    g_warning("write pool: could not start a thread: %s", error->message);
}

void WriteQueue::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return jobs_.empty() && !scheduled_; });
}

void WriteQueue::run_pending(void *queue, void * /*unused*/) {
  auto *self = static_cast<WriteQueue *>(queue);
  std::unique_lock lock(self->mutex_);
  while (!self->jobs_.empty()) {
    std::function<void()> job = std::move(self->jobs_.front());
    self->jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
  self->scheduled_ = false;
  // Notified under the lock: once drain() sees the queue idle, this thread
  // touches the queue no more, so the owner may destroy it.
  self->idle_.notify_all();
}

}  // namespace callstream
