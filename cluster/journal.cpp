#include "cluster/journal.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace faultline {
namespace {

// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat).
long long process_start_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoll(field);
  return -1;
}

}  // namespace

Journal::Journal(std::filesystem::path path) : path_(std::move(path)) {
  append("owner " + std::to_string(::getpid()) + " " +
         std::to_string(process_start_ticks(::getpid())));
}

void Journal::add(const std::string& kind, const std::string& name) {
  if (kind.empty() || name.empty() || kind.find_first_of(" \n") != std::string::npos ||
      name.find('\n') != std::string::npos)
    throw std::invalid_argument("cannot journal " + kind + " '" + name + "': not one line");
  append(kind + " " + name);
}

void Journal::append(const std::string& line) {
  std::lock_guard lock(mutex_);
  std::ofstream out(path_, std::ios::app);
  out << line << "\n";
  out.flush();
  if (!out) throw std::runtime_error("cannot write journal " + path_.string());
}

JournalContents read_journal(const std::filesystem::path& path) {
  std::ifstream in(path);
  JournalContents journal;
  for (std::string line; std::getline(in, line);) {
    auto space = line.find(' ');
    if (space == std::string::npos || space + 1 == line.size()) continue;
    std::string kind = line.substr(0, space), name = line.substr(space + 1);
    if (kind != "owner") {
      journal.entries.push_back({kind, name});
      continue;
    }
    std::istringstream owner(name);
    owner >> journal.owner_pid >> journal.owner_start_ticks;
  }
  return journal;
}

std::vector<std::string> undo_journal(const std::filesystem::path& path,
                                      const std::function<std::string(const JournalEntry&)>& undo) {
  auto entries = read_journal(path).entries;
  std::vector<std::string> done;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    std::string line = undo(*it);
    if (!line.empty()) done.push_back(std::move(line));
  }
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return done;
}

bool owner_alive(const JournalContents& journal) {
  int pid = journal.owner_pid;
  return pid > 0 && ::kill(pid, 0) == 0 &&
         process_start_ticks(pid) == journal.owner_start_ticks;
}

}  // namespace faultline
