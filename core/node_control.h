// Where nodes run: the one seam between faultline and the operating system (like LevelDB's Env).
//
// A NodeControl owns a set of named nodes (n1..nN) that can reach each other and the harness.
// The local implementation gives each node its own network namespace on a private bridge; an
// SSH implementation drives remote hosts. Nothing outside a NodeControl spawns processes, shells
// out or touches a node's files: targets start servers through spawn(), nemeses act through
// run(), and both read and write node files through files().
//
// Every resource is registered in a journal before it is created, so teardown() — or
// `faultline clean` after a crash or SIGKILL — removes exactly what the run made.
//
// Every operation takes the node it acts on and must make sense on a remote host: paths are
// absolute POSIX paths *on that node* (for the local cluster, where every namespace shares the
// host's filesystem, they are the host's paths), commands are argv vectors, never shell text.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct NodeInfo {
  std::string name;     // n1, n2, ...
  std::string address;  // IPv4 address the other nodes and the harness reach it at
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
  bool ok() const { return exit_code == 0; }
};

struct SpawnOptions {
  std::vector<std::string> argv;                         // argv[0] is looked up in the node's PATH
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) the environment
  std::string log_path;  // a file on the node (normally in NodeFiles::node_dir) that stdout and
                         // stderr are appended to
};

// A long-running process started on a node. Destroying it does not stop it: stop explicitly.
class NodeProcess {
 public:
  virtual ~NodeProcess() = default;
  virtual int pid() const = 0;
  virtual bool running() = 0;
  virtual void signal(int signal_number) = 0;
  // True if the process exited within `timeout`.
  virtual bool wait_for_exit(std::chrono::milliseconds timeout) = 0;
  // SIGTERM, then SIGKILL if it has not exited within `grace`.
  void stop(std::chrono::milliseconds grace);
};

// Who owns a folder made by NodeFiles::make_dir, and its permission bits.
struct DirOptions {
  std::string owner;     // a user on the node (the folder gets its primary group); empty: as is
  unsigned mode = 0755;  // permission bits, as chmod takes them
};

// The files of the nodes. Paths are absolute paths on the node named in each call. A file or
// folder the run makes outside the node folders is journaled before it is made and removed at
// teardown; the node folders hold the run's record (configuration, data, logs).
//
// Errors (a file that cannot be read or written, a folder that cannot be made) throw
// std::runtime_error naming the node and the path. Asking for something the contract forbids
// (overwriting or removing what the run did not make, a relative path) throws
// std::invalid_argument. Thread-safe: the nemesis thread and the runner use it at once.
class NodeFiles {
 public:
  virtual ~NodeFiles() = default;

  // The run's own folder on `node`, for the servers' configuration, data and logs. It exists
  // from the NodeControl's construction until teardown. On the local cluster it is the run
  // folder's nodes/<node>/ and stays after the run; on a remote node it is removed at teardown,
  // so whatever must outlive the run has to be fetched first.
  virtual std::string node_dir(const std::string& node) const = 0;

  // Where to keep a small file of this run that is not part of its record and that processes
  // re-read at any moment (a clock offset file): a path on `node` named after `name` (one path
  // component), on a memory filesystem where the node has one. Nothing is made until the file
  // is written through write_file, which journals it.
  virtual std::string scratch_path(const std::string& node, const std::string& name) const = 0;

  // Replaces the file at `path` with `contents` atomically: a reader sees the old contents or
  // the new, never a mix (written beside it, then renamed over it). The file gets mode 0644.
  // REQUIRES: the parent folder exists; the file, if it exists, was made by this run.
  virtual void write_file(const std::string& node, const std::string& path,
                          const std::string& contents) = 0;

  // The contents of the file at `path`, or only its last `last_bytes` bytes (a log's tail).
  virtual std::string read_file(const std::string& node, const std::string& path,
                                std::size_t last_bytes = std::string::npos) = 0;

  // Makes the folder `path` and any missing parents, then gives `path` the owner and mode of
  // `options` (the parents get the defaults). REQUIRES: if `path` exists, this run made it.
  virtual void make_dir(const std::string& node, const std::string& path,
                        const DirOptions& options = {}) = 0;

  // Removes the file or folder (with its contents) at `path`; nothing to do when it is gone.
  // REQUIRES: this run made it (it is in a node folder, or was made through NodeFiles).
  virtual void remove(const std::string& node, const std::string& path) = 0;

  // The names of the entries of folder `path`, sorted; empty when there is no such folder.
  virtual std::vector<std::string> list_dir(const std::string& node, const std::string& path) = 0;

  // Whether anything (file, folder, link to either) is at `path`.
  virtual bool exists(const std::string& node, const std::string& path) = 0;

  // Copies the file or folder at `path` on `node` into the run folder's nodes/<node>/, under
  // its own name, replacing an earlier copy. Files already in the run folder (the local
  // cluster's node folders) stay where they are.
  virtual void fetch(const std::string& node, const std::string& path) = 0;

  // Makes a file of the harness's own (the clock preload library) available on `node`;
  // returns its path there. The local cluster's nodes see the host's files: the path itself.
  virtual std::string upload(const std::string& node,
                             const std::filesystem::path& harness_file) = 0;
};

class NodeControl {
 public:
  virtual ~NodeControl() = default;
  virtual const std::vector<NodeInfo>& nodes() const = 0;
  const NodeInfo& node(const std::string& name) const;

  // Runs a command on a node to completion, feeding `input` to its stdin. Throws
  // std::runtime_error naming the node when it cannot be reached (a remote host that stopped
  // answering); a command that ran and failed is an exit code. Thread-safe.
  virtual CommandResult run(const std::string& node, const std::vector<std::string>& argv,
                            const std::string& input = {}) = 0;
  // Starts a long-running process on a node; it dies with the harness if the harness dies.
  // Throws std::runtime_error when it cannot be started. Thread-safe.
  virtual std::unique_ptr<NodeProcess> spawn(const std::string& node,
                                             const SpawnOptions& options) = 0;
  // Starts a FUSE filesystem daemon on `node` (`options` as for spawn: argv, env, log) that
  // mounts itself at `mount_point`, a folder this run made, and stays in the foreground. The
  // mount is journaled before it is made, visible to every process later spawned on the node,
  // and unmounted at teardown, or by `faultline clean` after a crash (a mount whose daemon died
  // answers ENOTCONN until then). Returns once the mount is in place; throws
  // std::runtime_error when it is not within 10 s. Thread-safe.
  virtual std::unique_ptr<NodeProcess> spawn_mount(const std::string& node,
                                                   const std::string& mount_point,
                                                   const SpawnOptions& options) = 0;
  // The nodes' files. Valid as long as this NodeControl.
  virtual NodeFiles& files() = 0;
  // Removes every resource this run made. Idempotent; never throws. Returns the nodes it could
  // not reach to clean, one line each naming the node, what may be left there and how to
  // remove it later (a remote host that did not answer keeps its journal entry for `faultline
  // clean`). A local step that fails is logged, not listed. Later calls return nothing.
  virtual std::vector<std::string> teardown() noexcept = 0;
};

}  // namespace faultline
