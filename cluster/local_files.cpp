#include "cluster/local_files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace faultline {

namespace fs = std::filesystem;

namespace {

bool is_within(const fs::path& path, const fs::path& folder) {
  auto rel = path.lexically_relative(folder);  // strictly inside: not the folder itself
  return !rel.empty() && rel != "." && *rel.begin() != "..";
}

[[noreturn]] void fail(const std::string& node, const std::string& what, const fs::path& path,
                       const std::string& why) {
  throw std::runtime_error(node + ": cannot " + what + " " + path.string() + ": " + why);
}

// Writes `contents` to a new file at `path` with mode 0644 whatever the umask.
void write_new(const std::string& node, const fs::path& path, const std::string& contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(node, "write", path, std::strerror(errno));
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      fail(node, "write", path, std::strerror(error));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::close(fd) != 0) fail(node, "write", path, std::strerror(errno));
}

void set_owner_and_mode(const std::string& node, const fs::path& path, const DirOptions& options) {
  if (!options.owner.empty()) {
    passwd* user = ::getpwnam(options.owner.c_str());
    if (!user) fail(node, "chown", path, "no user '" + options.owner + "'");
    if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0)
      fail(node, "chown", path, std::strerror(errno));
  }
  if (::chmod(path.c_str(), options.mode) != 0) fail(node, "chmod", path, std::strerror(errno));
}

}  // namespace

LocalFiles::LocalFiles(LocalFilesOptions options, Journal& journal)
    : options_(std::move(options)), journal_(journal) {
  for (const auto& node : options_.node_names) {
    std::error_code ec;
    fs::create_directories(node_dir(node), ec);
    if (ec) fail(node, "make", node_dir(node), ec.message());
  }
  std::error_code ec;
  fs::create_directories(options_.scratch_dir, ec);
  if (ec) fail("host", "make", options_.scratch_dir, ec.message());
}

std::string LocalFiles::node_dir(const std::string& node) const {
  if (std::find(options_.node_names.begin(), options_.node_names.end(), node) ==
      options_.node_names.end())
    throw std::invalid_argument("no node named " + node);
  return (options_.run_dir / "nodes" / node).string();
}

std::string LocalFiles::scratch_path(const std::string& node, const std::string& name) const {
  node_dir(node);  // validates the node
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    throw std::invalid_argument("scratch file name '" + name + "' is not one path component");
  return (options_.scratch_dir / (options_.run_id + "-" + node + "." + name)).string();
}

fs::path LocalFiles::checked(const std::string& node, const std::string& path) const {
  node_dir(node);
  fs::path p(path);
  if (!p.is_absolute()) throw std::invalid_argument(node + ": path '" + path + "' is not absolute");
  return p.lexically_normal();
}

bool LocalFiles::in_node_dir(const std::string& node, const fs::path& path) const {
  return is_within(path, fs::path(node_dir(node)).lexically_normal());
}

bool LocalFiles::made_by_run(const std::string& node, const fs::path& path) const {
  if (in_node_dir(node, path)) return true;
  for (fs::path p = path; !p.empty() && p != p.root_path(); p = p.parent_path())
    if (made_.count({node, p.string()})) return true;
  return false;
}

void LocalFiles::claim(const std::string& node, const fs::path& path) {
  if (made_by_run(node, path)) return;
  journal_.add("file", path.string());
  made_.insert({node, path.string()});
}

void LocalFiles::write_file(const std::string& node, const std::string& path,
                            const std::string& contents) {
  fs::path p = checked(node, path);
  fs::path tmp = p;
  tmp += ".tmp";
  std::lock_guard lock(mutex_);  // one writer at a time: the temporary name is shared
  if (!made_by_run(node, p)) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(p, ec)))
      throw std::invalid_argument(node + ": refusing to overwrite " + p.string() +
                                  ", which this run did not make");
    claim(node, tmp);
    claim(node, p);
  }
  write_new(node, tmp, contents);
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) fail(node, "write", p, ec.message());
}

std::string LocalFiles::read_file(const std::string& node, const std::string& path,
                                  std::size_t last_bytes) {
  fs::path p = checked(node, path);
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(node, "read", p, std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  std::size_t from = last_bytes < size ? size - last_bytes : 0;
  std::string text(size - from, '\0');
  in.seekg(static_cast<std::streamoff>(from));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

void LocalFiles::make_dir(const std::string& node, const std::string& path,
                          const DirOptions& options) {
  fs::path p = checked(node, path);
  std::lock_guard lock(mutex_);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(p, ec))) {
    if (!made_by_run(node, p))
      throw std::invalid_argument(node + ": " + p.string() + " exists and this run did not make it");
    if (!fs::is_directory(p, ec)) fail(node, "make folder", p, "a file is in the way");
  } else {
    // Journal the topmost folder that will be made: removing it removes all that was made.
    fs::path top = p;
    while (top.has_parent_path() && top.parent_path() != top &&
           !fs::exists(top.parent_path(), ec))
      top = top.parent_path();
    claim(node, top);
    fs::create_directories(p, ec);
    if (ec) fail(node, "make folder", p, ec.message());
  }
  set_owner_and_mode(node, p, options);
}

void LocalFiles::remove(const std::string& node, const std::string& path) {
  fs::path p = checked(node, path);
  std::lock_guard lock(mutex_);
  if (!made_by_run(node, p))
    throw std::invalid_argument(node + ": refusing to remove " + p.string() +
                                ", which this run did not make");
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) fail(node, "remove", p, ec.message());
}

std::vector<std::string> LocalFiles::list_dir(const std::string& node, const std::string& path) {
  fs::path p = checked(node, path);
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool LocalFiles::exists(const std::string& node, const std::string& path) {
  std::error_code ec;
  return fs::exists(checked(node, path), ec);
}

void LocalFiles::fetch(const std::string& node, const std::string& path) {
  fs::path p = checked(node, path);
  if (in_node_dir(node, p)) return;  // the local node folder is the run folder's nodes/<node>/
  fs::path target = fs::path(node_dir(node)) / p.filename();
  std::error_code ec;
  fs::remove_all(target, ec);
  if (!ec)
    fs::copy(p, target, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) fail(node, "fetch", p, ec.message());
}

std::string LocalFiles::upload(const std::string& node, const fs::path& harness_file) {
  node_dir(node);
  std::error_code ec;
  if (!fs::exists(harness_file, ec)) fail(node, "upload", harness_file, "no such file");
  return fs::absolute(harness_file).string();
}

std::string remove_journaled_file(const std::string& path) noexcept {
  std::error_code ec;
  if (fs::remove_all(path, ec) > 0 && !ec) return "removed file " + path;  // or folder
  return {};
}

}  // namespace faultline
