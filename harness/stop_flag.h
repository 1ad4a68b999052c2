// A stop flag that sleepers can wait on: the end of the generator phase, the end of progress.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace faultline {

using Clock = std::chrono::steady_clock;

class StopFlag {
 public:
  void request() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    cv_.notify_all();
  }
  // Sleeps until `deadline`; returns true if stop was requested first.
  bool wait_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_until(lock, deadline, [&] { return stopped_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace faultline
