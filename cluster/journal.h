// The journal of one run's resources: one line per namespace, link, file or folder, appended
// (and flushed) before the resource is made, headed by the owner process. Teardown undoes it in
// reverse; `faultline clean` undoes the journals whose owner is gone.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace faultline {

struct JournalEntry {
  std::string kind;  // netns, link, file (a file or folder, removed with its contents)
  std::string name;  // the namespace, the link, the path
};

struct JournalContents {
  int owner_pid = -1;
  long long owner_start_ticks = -1;  // with the pid, identifies the owner even after pid reuse
  std::vector<JournalEntry> entries;  // in the order they were made
};

class Journal {
 public:
  // Starts the journal at `path` (appending if it exists) with this process as its owner.
  // Throws std::runtime_error when it cannot be written.
  explicit Journal(std::filesystem::path path);

  // Records one resource before the caller makes it. Throws std::invalid_argument for a kind
  // or name that cannot be one line (empty, a newline), std::runtime_error when the journal
  // cannot be written. Thread-safe.
  void add(const std::string& kind, const std::string& name);

  const std::filesystem::path& path() const { return path_; }

 private:
  void append(const std::string& line);

  std::filesystem::path path_;
  std::mutex mutex_;
};

// Reads a journal; entries it cannot parse are skipped. Empty contents when it is unreadable.
JournalContents read_journal(const std::filesystem::path& path);

// Undoes a journal: `undo` on every entry, newest first, then removes the journal file. `undo`
// must not throw; it returns a line saying what it removed, or "" when there was nothing to do.
// Returns those lines.
std::vector<std::string> undo_journal(const std::filesystem::path& path,
                                      const std::function<std::string(const JournalEntry&)>& undo);

// True when the journal's owner process is still running.
bool owner_alive(const JournalContents& journal);

}  // namespace faultline
