// NodeFiles for nodes that share the host's filesystem (the local cluster's namespaces): node
// paths are host paths. Node folders are the run folder's nodes/<node>/ (the run's record,
// kept); every file or folder made elsewhere is journaled before it is made.
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/journal.h"
#include "core/node_control.h"

namespace faultline {

struct LocalFilesOptions {
  std::filesystem::path run_dir;      // node folders: run_dir/nodes/<node>/
  std::filesystem::path scratch_dir;  // scratch files: scratch_dir/<run id>-<node>.<name>
  std::string run_id;
  std::vector<std::string> node_names;
};

class LocalFiles final : public NodeFiles {
 public:
  // Makes the node folders and the scratch folder. `journal` must outlive this object.
  LocalFiles(LocalFilesOptions options, Journal& journal);

  std::string node_dir(const std::string& node) const override;
  std::string scratch_path(const std::string& node, const std::string& name) const override;
  void write_file(const std::string& node, const std::string& path,
                  const std::string& contents) override;
  std::string read_file(const std::string& node, const std::string& path,
                        std::size_t last_bytes) override;
  void make_dir(const std::string& node, const std::string& path,
                const DirOptions& options) override;
  void remove(const std::string& node, const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& node, const std::string& path) override;
  bool exists(const std::string& node, const std::string& path) override;
  void fetch(const std::string& node, const std::string& path) override;
  std::string upload(const std::string& node, const std::filesystem::path& harness_file) override;

 private:
  // `path` made absolute-normal; throws std::invalid_argument for an unknown node or a
  // relative path.
  std::filesystem::path checked(const std::string& node, const std::string& path) const;
  bool in_node_dir(const std::string& node, const std::filesystem::path& path) const;
  // Inside a node folder, or at or under something this run made. REQUIRES: mutex_ held.
  bool made_by_run(const std::string& node, const std::filesystem::path& path) const;
  // Journals `path` as made by this run unless it already counts. REQUIRES: mutex_ held.
  void claim(const std::string& node, const std::filesystem::path& path);

  LocalFilesOptions options_;
  Journal& journal_;
  std::mutex mutex_;
  std::set<std::pair<std::string, std::string>> made_;  // (node, path) journaled by this run
};

// Undoes a journal entry of kind "file": removes the file or folder (with its contents).
// Returns "removed file PATH", or "" when nothing was there. Never throws.
std::string remove_journaled_file(const std::string& path) noexcept;

}  // namespace faultline
