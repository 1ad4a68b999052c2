#include "core/log.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>

namespace faultline::log {
namespace {

struct Sink {
  std::mutex mutex;
  std::ofstream file;
  Level stderr_level = Level::warn;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

Sink& sink() {
  static Sink instance;
  return instance;
}

const char* name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "?";
}

}  // namespace

void open_file(const std::filesystem::path& path) {
  std::lock_guard lock(sink().mutex);
  sink().file.close();
  sink().file.open(path, std::ios::app);
}

void close_file() {
  std::lock_guard lock(sink().mutex);
  sink().file.close();
}

void set_stderr_level(Level level) {
  std::lock_guard lock(sink().mutex);
  sink().stderr_level = level;
}

void write(Level level, const std::string& message) {
  Sink& s = sink();
  double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s.start).count();
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%9.3f] ", elapsed_s);
  std::lock_guard lock(s.mutex);
  if (s.file.is_open()) {
    s.file << stamp << name(level) << ": " << message << '\n';
    s.file.flush();
  }
  if (level >= s.stderr_level) std::cerr << "faultline: " << name(level) << ": " << message << '\n';
}

}  // namespace faultline::log
