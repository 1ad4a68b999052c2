// faultline-lyingfs: a FUSE passthrough filesystem that can lie the way storage does after a
// power loss, for the storage nemeses (nemesis/storage.cpp). Mounted over a node's data folder,
// it passes every operation through to a backing folder, and remembers, per file, what each
// write not yet made durable (fsync / fdatasync of that file, or a file opened O_SYNC / O_DSYNC)
// overwrote. On command it can then:
//   clear-cache          undo every such write: the files hold what was last synced, as after
//                        a crash that lost the page cache (LazyFS's clear-cache);
//   torn-write           the same, except that the newest unsynced write keeps its first half
//                        (a torn write: only a prefix reached the disk);
//   bitflip PATH N       flip N random bits of the file (Jepsen's bitflip), seeded by PATH;
//   truncate PATH BYTES  cut BYTES off the end of the file.
// LazyFS keeps its own page cache and writes back on fsync; this keeps the data where the
// server put it (reads are plain passthrough) and keeps undo records instead, which gives the
// same files after a clear-cache with far less code. Metadata (creates, renames, unlinks) is
// applied at once and never undone: a file created and never synced comes back empty, not gone.
//
// Commands are written to the hidden file /.faultline-control of the mount (not listed, and
// refused to every process but root's), whose read answers one line of JSON; the binary is its
// own client: `faultline-lyingfs ctl MOUNT COMMAND...`. The server must be stopped first: a
// clear-cache under a running server is a lie no disk tells.
//
// Usage: faultline-lyingfs mount BACKING MOUNT   (stays in the foreground; allow_other,
//        default_permissions; files are created as the calling process's user)
#define FUSE_USE_VERSION 31
#include <fuse3/fuse.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr const char* kControlName = "/.faultline-control";
constexpr std::uint64_t kControlHandle = ~0ull;  // fi->fh of an open control file

std::string g_backing;  // the backing folder, no trailing slash

std::string backing(const char* path) { return g_backing + path; }

// What one unsynced write or truncate changed: restoring `old_bytes` at `offset` and then the
// size `old_size` undoes it.
struct Undo {
  off_t offset = 0;
  std::string old_bytes;
  off_t old_size = 0;
  std::size_t written = 0;  // bytes the write wrote (0: a truncate)
};

// Unsynced changes of one file (by backing inode), with a descriptor of its own to undo them
// through even after the server closed or renamed it.
struct FileUndo {
  int fd = -1;
  std::vector<Undo> undos;  // oldest first
  // The file's newest unsynced write itself, for torn-write (the undos keep the old bytes).
  std::uint64_t last_write_sequence = 0;
  off_t last_write_offset = 0;
  std::string last_write_data;
};

std::mutex g_mutex;  // guards everything below, and orders writes against their undo records
std::map<ino_t, FileUndo> g_files;
std::uint64_t g_write_sequence = 0;  // orders the files' newest writes
std::string g_last_reply;  // the answer to the last command, read back from the control file

int errno_result(int r) { return r < 0 ? -errno : r; }

// Records what is about to change in [offset, offset + length) of `fd` and its size: a write of
// `written` bytes, or a truncate (written 0). REQUIRES: g_mutex held.
void remember(int fd, off_t offset, std::size_t length, std::size_t written) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  Undo u;
  u.offset = offset;
  u.old_size = st.st_size;
  u.written = written;
  if (offset < st.st_size) {
    std::size_t overlap = static_cast<std::size_t>(
        std::min<off_t>(static_cast<off_t>(length), st.st_size - offset));
    u.old_bytes.resize(overlap);
    ssize_t n = pread(fd, u.old_bytes.data(), overlap, offset);
    u.old_bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  FileUndo& file = g_files[st.st_ino];
  if (file.fd < 0) file.fd = dup(fd);
  file.undos.push_back(std::move(u));
}

// The file was made durable: nothing of it can be lost any more. REQUIRES: g_mutex held.
void forget(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  auto it = g_files.find(st.st_ino);
  if (it == g_files.end()) return;
  close(it->second.fd);
  g_files.erase(it);
}

bool is_synchronous(int flags) { return (flags & O_SYNC) == O_SYNC || (flags & O_DSYNC); }

void restore(int fd, const Undo& u) {
  if (!u.old_bytes.empty() && pwrite(fd, u.old_bytes.data(), u.old_bytes.size(), u.offset) < 0)
    std::perror("faultline-lyingfs: undo pwrite");
  if (ftruncate(fd, u.old_size) != 0) std::perror("faultline-lyingfs: undo ftruncate");
}

// Undoes every unsynced change, newest first; with `tear`, the newest write then gets its first
// half back. Returns the reply. REQUIRES: g_mutex held.
std::string drop_unsynced(bool tear) {
  std::size_t writes = 0, bytes = 0, files = 0, torn_kept = 0;
  for (auto& [inode, file] : g_files) {
    files += 1;
    for (auto u = file.undos.rbegin(); u != file.undos.rend(); ++u) {
      writes += u->written > 0;
      bytes += u->written;
      restore(file.fd, *u);
    }
  }
  const FileUndo* newest = nullptr;
  for (const auto& [inode, file] : g_files)
    if (file.last_write_sequence > 0 &&
        (!newest || file.last_write_sequence > newest->last_write_sequence))
      newest = &file;
  if (tear && newest) {
    torn_kept = newest->last_write_data.size() / 2;
    if (pwrite(newest->fd, newest->last_write_data.data(), torn_kept, newest->last_write_offset) < 0)
      std::perror("faultline-lyingfs: torn pwrite");
  }
  for (auto& [inode, file] : g_files) {
    fsync(file.fd);
    close(file.fd);
  }
  g_files.clear();
  char reply[200];
  std::snprintf(reply, sizeof reply,
                "{\"dropped_writes\":%zu,\"dropped_bytes\":%zu,\"files\":%zu,\"torn_kept_bytes\":%zu}",
                writes, bytes, files, torn_kept);
  return reply;
}

// Flips `count` bits of the backing file at `path`, at offsets drawn from a generator seeded
// by the path (so a run is reproducible). Returns the reply.
std::string bitflip(const std::string& path, long count) {
  int fd = open(backing(path.c_str()).c_str(), O_RDWR);
  if (fd < 0) return std::string("{\"error\":\"") + std::strerror(errno) + "\"}";
  struct stat st;
  fstat(fd, &st);
  std::size_t flipped = 0;
  std::mt19937_64 rng(std::hash<std::string>{}(path));
  for (long i = 0; i < count && st.st_size > 0; ++i) {
    off_t at = static_cast<off_t>(rng() % static_cast<std::uint64_t>(st.st_size));
    unsigned char byte;
    if (pread(fd, &byte, 1, at) != 1) break;
    byte ^= static_cast<unsigned char>(1u << (rng() % 8));
    if (pwrite(fd, &byte, 1, at) == 1) ++flipped;
  }
  fsync(fd);
  close(fd);
  return "{\"flipped_bits\":" + std::to_string(flipped) + ",\"size\":" +
         std::to_string(st.st_size) + "}";
}

std::string truncate_end(const std::string& path, long bytes) {
  int fd = open(backing(path.c_str()).c_str(), O_RDWR);
  if (fd < 0) return std::string("{\"error\":\"") + std::strerror(errno) + "\"}";
  struct stat st;
  fstat(fd, &st);
  off_t size = std::max<off_t>(0, st.st_size - bytes);
  int r = ftruncate(fd, size);
  fsync(fd);
  close(fd);
  if (r != 0) return std::string("{\"error\":\"") + std::strerror(errno) + "\"}";
  return "{\"old_size\":" + std::to_string(st.st_size) + ",\"size\":" + std::to_string(size) + "}";
}

// Runs one command line ("clear-cache", "bitflip /member/snap/db 8", ...).
std::string command(const std::string& line) {
  char verb[32] = {0}, path[4096] = {0};
  long number = 0;
  int fields = std::sscanf(line.c_str(), "%31s %4095s %ld", verb, path, &number);
  std::lock_guard lock(g_mutex);
  std::string v = verb;
  if (v == "clear-cache" && fields == 1) return drop_unsynced(false);
  if (v == "torn-write" && fields == 1) return drop_unsynced(true);
  if (v == "bitflip" && fields == 3 && path[0] == '/') return bitflip(path, number);
  if (v == "truncate" && fields == 3 && path[0] == '/') return truncate_end(path, number);
  if (v == "unsynced" && fields == 1) {
    std::size_t writes = 0;
    for (auto& [inode, file] : g_files) writes += file.undos.size();
    return "{\"unsynced_changes\":" + std::to_string(writes) + "}";
  }
  return "{\"error\":\"unknown command: " + v + "\"}";
}

bool is_control(const char* path) { return std::strcmp(path, kControlName) == 0; }

// ---- the FUSE operations: passthrough to g_backing, with undo records on write ----

int fs_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  if (is_control(path)) {
    std::memset(st, 0, sizeof *st);
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_size = 4096;
    return 0;
  }
  if (fi && fi->fh != kControlHandle) return errno_result(fstat(static_cast<int>(fi->fh), st));
  return errno_result(lstat(backing(path).c_str(), st));
}

// Files and folders belong to the process that made them, as on a local disk (the daemon runs
// as root).
void own(const char* path) {
  fuse_context* c = fuse_get_context();
  if (lchown(backing(path).c_str(), c->uid, c->gid) != 0) std::perror("faultline-lyingfs: chown");
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, struct fuse_file_info*,
               enum fuse_readdir_flags) {
  DIR* dir = opendir(backing(path).c_str());
  if (!dir) return -errno;
  while (dirent* e = readdir(dir)) {
    struct stat st {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(e->d_type) << 12;
    if (fill(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  closedir(dir);
  return 0;
}

int fs_mkdir(const char* path, mode_t mode) {
  if (mkdir(backing(path).c_str(), mode) != 0) return -errno;
  own(path);
  return 0;
}

int fs_symlink(const char* target, const char* path) {
  if (symlink(target, backing(path).c_str()) != 0) return -errno;
  own(path);
  return 0;
}

int fs_readlink(const char* path, char* buf, size_t size) {
  ssize_t n = readlink(backing(path).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int fs_unlink(const char* path) { return errno_result(unlink(backing(path).c_str())); }
int fs_rmdir(const char* path) { return errno_result(rmdir(backing(path).c_str())); }
int fs_link(const char* from, const char* to) {
  return errno_result(link(backing(from).c_str(), backing(to).c_str()));
}
int fs_rename(const char* from, const char* to, unsigned int flags) {
  if (flags) return -EINVAL;
  return errno_result(rename(backing(from).c_str(), backing(to).c_str()));
}
int fs_chmod(const char* path, mode_t mode, struct fuse_file_info*) {
  return errno_result(chmod(backing(path).c_str(), mode));
}
int fs_chown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info*) {
  return errno_result(lchown(backing(path).c_str(), uid, gid));
}
int fs_utimens(const char* path, const struct timespec times[2], struct fuse_file_info*) {
  return errno_result(utimensat(AT_FDCWD, backing(path).c_str(), times, AT_SYMLINK_NOFOLLOW));
}
int fs_statfs(const char* path, struct statvfs* st) {
  return errno_result(statvfs(backing(path).c_str(), st));
}
int fs_access(const char* path, int mask) {
  if (is_control(path)) return fuse_get_context()->uid == 0 ? 0 : -EACCES;
  return errno_result(access(backing(path).c_str(), mask));
}

int fs_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  if (is_control(path)) return 0;
  int fd = fi ? static_cast<int>(fi->fh) : open(backing(path).c_str(), O_WRONLY);
  if (fd < 0) return -errno;
  int r;
  {
    std::lock_guard lock(g_mutex);
    struct stat st;
    fstat(fd, &st);
    remember(fd, std::min(size, st.st_size), static_cast<std::size_t>(std::max<off_t>(0, st.st_size - size)), 0);
    r = errno_result(ftruncate(fd, size));
  }
  if (!fi) close(fd);
  return r;
}

int fs_open(const char* path, struct fuse_file_info* fi) {
  if (is_control(path)) {
    if (fuse_get_context()->uid != 0) return -EACCES;
    fi->fh = kControlHandle;
    fi->direct_io = 1;
    return 0;
  }
  // O_APPEND is left to the kernel: FUSE hands writes with their offsets.
  int fd = open(backing(path).c_str(), fi->flags & ~O_APPEND);
  if (fd < 0) return -errno;
  fi->fh = static_cast<std::uint64_t>(fd);
  return 0;
}

int fs_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  if (is_control(path)) return -EEXIST;
  int fd = open(backing(path).c_str(), (fi->flags & ~O_APPEND) | O_CREAT, mode);
  if (fd < 0) return -errno;
  own(path);
  fi->fh = static_cast<std::uint64_t>(fd);
  return 0;
}

int fs_read(const char*, char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  if (fi->fh == kControlHandle) {
    std::lock_guard lock(g_mutex);
    std::string reply = g_last_reply + "\n";
    if (offset >= static_cast<off_t>(reply.size())) return 0;
    size_t n = std::min(size, reply.size() - static_cast<size_t>(offset));
    std::memcpy(buf, reply.data() + offset, n);
    return static_cast<int>(n);
  }
  return errno_result(static_cast<int>(pread(static_cast<int>(fi->fh), buf, size, offset)));
}

int fs_write(const char*, const char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  if (fi->fh == kControlHandle) {
    std::string reply = command(std::string(buf, size));
    std::lock_guard lock(g_mutex);
    g_last_reply = reply;
    return static_cast<int>(size);
  }
  int fd = static_cast<int>(fi->fh);
  std::lock_guard lock(g_mutex);
  bool durable = is_synchronous(fi->flags);
  if (!durable) remember(fd, offset, size, size);
  ssize_t n = pwrite(fd, buf, size, offset);
  if (n < 0) return -errno;
  if (!durable) {
    struct stat st;
    auto it = fstat(fd, &st) == 0 ? g_files.find(st.st_ino) : g_files.end();  // remember() made it
    if (it == g_files.end()) return static_cast<int>(n);
    FileUndo& file = it->second;
    file.last_write_sequence = ++g_write_sequence;
    file.last_write_offset = offset;
    file.last_write_data.assign(buf, static_cast<std::size_t>(n));
  }
  return static_cast<int>(n);
}

int fs_fsync(const char*, int datasync, struct fuse_file_info* fi) {
  if (fi->fh == kControlHandle) return 0;
  int fd = static_cast<int>(fi->fh);
  int r = datasync ? fdatasync(fd) : fsync(fd);
  if (r != 0) return -errno;
  std::lock_guard lock(g_mutex);
  forget(fd);
  return 0;
}

int fs_release(const char*, struct fuse_file_info* fi) {
  if (fi->fh != kControlHandle) close(static_cast<int>(fi->fh));
  return 0;
}

int fs_fallocate(const char*, int mode, off_t offset, off_t length, struct fuse_file_info* fi) {
  if (fi->fh == kControlHandle) return -EOPNOTSUPP;
  std::lock_guard lock(g_mutex);
  remember(static_cast<int>(fi->fh), offset, 0, 0);  // the size it had comes back on a drop
  return errno_result(fallocate(static_cast<int>(fi->fh), mode, offset, length));
}

void* fs_init(struct fuse_conn_info*, struct fuse_config* config) {
  config->use_ino = 1;
  config->kernel_cache = 0;
  // Attributes change under the kernel's feet on a drop: do not cache them.
  config->attr_timeout = 0;
  config->entry_timeout = 0;
  config->negative_timeout = 0;
  return nullptr;
}

int mount_main(const char* program, const std::string& backing_dir, const std::string& mount) {
  char resolved[PATH_MAX];
  if (!realpath(backing_dir.c_str(), resolved)) {
    std::fprintf(stderr, "faultline-lyingfs: %s: %s\n", backing_dir.c_str(), std::strerror(errno));
    return 1;
  }
  g_backing = resolved;
  fuse_operations ops{};
  ops.getattr = fs_getattr;
  ops.readlink = fs_readlink;
  ops.mkdir = fs_mkdir;
  ops.unlink = fs_unlink;
  ops.rmdir = fs_rmdir;
  ops.symlink = fs_symlink;
  ops.rename = fs_rename;
  ops.link = fs_link;
  ops.chmod = fs_chmod;
  ops.chown = fs_chown;
  ops.truncate = fs_truncate;
  ops.open = fs_open;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.statfs = fs_statfs;
  ops.release = fs_release;
  ops.fsync = fs_fsync;
  ops.readdir = fs_readdir;
  ops.init = fs_init;
  ops.access = fs_access;
  ops.create = fs_create;
  ops.utimens = fs_utimens;
  ops.fallocate = fs_fallocate;
  std::vector<std::string> args{program, "-f", "-o", "allow_other,default_permissions,fsname=faultline-lyingfs",
                                mount};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return fuse_main(static_cast<int>(argv.size()), argv.data(), &ops, nullptr);
}

// The client side: writes the command into the mount's control file and prints the answer.
int ctl_main(const std::string& mount, const std::string& line) {
  std::string path = mount + kControlName;
  int fd = open(path.c_str(), O_RDWR);
  if (fd < 0) {
    std::fprintf(stderr, "faultline-lyingfs: %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::perror("faultline-lyingfs: write");
    return 1;
  }
  char reply[4096];
  ssize_t n = pread(fd, reply, sizeof reply - 1, 0);
  close(fd);
  if (n <= 0) return 1;
  reply[n] = '\0';
  std::fputs(reply, stdout);
  return std::strstr(reply, "\"error\"") ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "mount") return mount_main(argv[0], args[1], args[2]);
  if (args.size() >= 3 && args[0] == "ctl") {
    std::string line;
    for (std::size_t i = 2; i < args.size(); ++i) line += (i > 2 ? " " : "") + args[i];
    return ctl_main(args[1], line);
  }
  std::fprintf(stderr,
               "usage: faultline-lyingfs mount BACKING MOUNT\n"
               "       faultline-lyingfs ctl MOUNT clear-cache | torn-write | unsynced |\n"
               "                         bitflip PATH BITS | truncate PATH BYTES\n");
  return 2;
}
