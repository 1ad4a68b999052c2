#include "harness/progress.h"

#include <cstdio>
#include <iostream>

#include "core/log.h"

namespace faultline {

using namespace std::chrono_literals;

void Announcer::operator()(const std::string& line) const {
  log::info(line);
  if (style_ != ProgressStyle::none) std::cout << line << std::endl;
}

void OpCounts::add(OpType type) {
  switch (type) {
    case OpType::ok: ++ok; break;
    case OpType::fail: ++fail; break;
    default: ++info; break;
  }
}

void print_progress(ProgressStyle style, const ProgressSource& source, StopFlag& done) {
  if (style == ProgressStyle::none) return;
  bool live = style == ProgressStyle::live_line;
  auto period = live ? 1s : 10s;
  std::int64_t last_total = 0;
  auto last_time = Clock::now();
  while (!done.wait_until(Clock::now() + period)) {
    std::int64_t ok = source.counts.ok, fail = source.counts.fail, info = source.counts.info;
    std::int64_t total = ok + fail + info;
    auto now = Clock::now();
    double rate = static_cast<double>(total - last_total) /
                  std::chrono::duration<double>(now - last_time).count();
    last_total = total;
    last_time = now;
    std::string fault = source.active_fault();
    char line[256];
    std::snprintf(line, sizeof line, "[%5.1fs/%.0fs] %6.0f ops/s  ok %lld  fail %lld  info %lld  fault: %s",
                  std::chrono::duration<double>(now - source.test_start).count(),
                  source.time_limit_s, rate, static_cast<long long>(ok),
                  static_cast<long long>(fail), static_cast<long long>(info),
                  fault.empty() ? "none" : fault.c_str());
    if (live)
      std::cout << "\r\033[K" << line << std::flush;
    else
      std::cout << line << std::endl;
  }
  if (live) std::cout << std::endl;
}

}  // namespace faultline
