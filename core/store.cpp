#include "core/store.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <stdexcept>

namespace faultline {

std::string run_name_problem(std::string_view name) {
  auto is_alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty()) return "a name must not be empty";
  if (name.size() > kRunNameBytesMax)
    return "a name is at most " + std::to_string(kRunNameBytesMax) + " bytes, this one " +
           std::to_string(name.size());
  if (!is_alnum(name[0])) return "a name must start with a letter or a digit";
  for (char c : name)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
      return "a name may hold only letters, digits, '.', '_' and '-' (it names a folder of the "
             "store)";
  if (name == "latest") return "'latest' is taken: store/latest links to the newest run";
  return {};
}

std::filesystem::path create_run_dir(const std::filesystem::path& store_dir,
                                     const std::string& test_name) {
  if (std::string problem = run_name_problem(test_name); !problem.empty())
    throw std::invalid_argument("bad test name: " + problem);
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
  std::string name = std::string(stamp) + "." + std::to_string(1000 + millis).substr(1) + "Z";

  std::filesystem::path dir = store_dir / test_name / name;
  std::filesystem::create_directories(dir);
  std::filesystem::path latest = store_dir / "latest";
  std::filesystem::path tmp = store_dir / ".latest.tmp";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_directory_symlink(std::filesystem::path(test_name) / name, tmp);
  std::filesystem::rename(tmp, latest);
  return dir;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace faultline
