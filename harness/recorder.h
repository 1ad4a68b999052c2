// The run's history as it is written: every op, client or nemesis, is stamped with one
// monotonic harness clock since the test started (never a node's clock) and appended to
// history.jsonl at once.
#pragma once

#include <filesystem>

#include "core/history.h"
#include "harness/stop_flag.h"

namespace faultline {

class Recorder {
 public:
  // Opens (appends to) `file`; the test clock starts now.
  explicit Recorder(const std::filesystem::path& file);
  // Stamps time_ns, assigns the index, writes and flushes the line; returns the op as written.
  // Thread-safe.
  Op record(Op op);
  Clock::time_point start() const { return start_; }
  // The moment `s` seconds after the start.
  Clock::time_point at(double s) const;

 private:
  HistoryWriter writer_;
  Clock::time_point start_;
};

}  // namespace faultline
