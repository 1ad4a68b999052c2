// What the user sees while a test runs: announcements (also logged) and the progress line.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/history.h"
#include "harness/stop_flag.h"

namespace faultline {

enum class ProgressStyle { live_line, periodic_lines, none };

// One line to the log, and to stdout unless the style is none.
class Announcer {
 public:
  explicit Announcer(ProgressStyle style) : style_(style) {}
  void operator()(const std::string& line) const;

 private:
  ProgressStyle style_;
};

// Completed client ops by type; workers add, the progress line reads.
struct OpCounts {
  std::atomic<std::int64_t> ok{0}, fail{0}, info{0};
  void add(OpType type);
};

// What the progress line shows.
struct ProgressSource {
  const OpCounts& counts;
  std::function<std::string()> active_fault;  // empty: "none"
  Clock::time_point test_start;
  double time_limit_s = 0;
};

// Prints the progress line until `done`: on a terminal (live_line) one line rewritten every
// second, elsewhere (periodic_lines) a new line every 10 s, nothing for none.
void print_progress(ProgressStyle style, const ProgressSource& source, StopFlag& done);

}  // namespace faultline
