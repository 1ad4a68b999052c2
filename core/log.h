// The run's log: faultline.log in the run folder, and stderr for warnings and errors.
// Thread-safe. Lines carry harness-monotonic seconds since the run began.
#pragma once

#include <filesystem>
#include <string>

namespace faultline::log {

enum class Level { debug, info, warn, error };

// Opens (appends to) the log file of a run. Until called, messages go to stderr only.
void open_file(const std::filesystem::path& path);
void close_file();
// Messages at or above this level are echoed to stderr (default: warn).
void set_stderr_level(Level level);

void write(Level level, const std::string& message);
inline void debug(const std::string& m) { write(Level::debug, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void warn(const std::string& m) { write(Level::warn, m); }
inline void error(const std::string& m) { write(Level::error, m); }

}  // namespace faultline::log
