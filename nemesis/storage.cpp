// Storage faults (LazyFS's and Jepsen's), through faultline-lyingfs (lyingfs/lying_fs.cpp), a
// FUSE filesystem mounted over each node's data folder before the target starts:
//  lose-unsynced  kill the node's servers, then drop every write they had not fsynced (a power
//                 loss that takes the page cache); stop restarts them on what is left.
//  torn-write     the same, but the newest unsynced write keeps its first half (a torn write).
//  corrupt        kill the node's servers, then flip `bits` random bits of (mode bitflip) or cut
//                 `bytes` off the end of (mode truncate) each of `files`, paths inside the data
//                 folder (member/snap/db); stop restarts them.
// Options: nodes (a selector or node list, default one); corrupt also files (required), mode
// (bitflip | truncate, default bitflip), bits (default 8), bytes (default 512).
// The target must have StorageControl (where its data lives) and ProcessControl (kill and
// restart). The mounts are the NodeControl's (spawn_mount: journaled, unmounted at teardown and
// by `faultline clean`).
#include "nemesis/nemesis.h"
#include "targets/servers.h"

namespace faultline {
namespace {

using nlohmann::json;

struct CorruptOptions {
  std::vector<std::string> files;
  std::string mode = "bitflip";
  long long bits = 8;
  long long bytes = 512;
};

// The lyingfs commands one start of the fault runs, on one node, once its servers are down.
std::vector<std::vector<std::string>> commands_for(const std::string& fault,
                                                   const CorruptOptions& corrupt) {
  if (fault == "lose-unsynced") return {{"clear-cache"}};
  if (fault == "torn-write") return {{"torn-write"}};
  std::vector<std::vector<std::string>> out;
  for (const auto& file : corrupt.files)
    out.push_back({corrupt.mode, "/" + file,
                   std::to_string(corrupt.mode == "bitflip" ? corrupt.bits : corrupt.bytes)});
  return out;
}

class StorageNemesis final : public Nemesis {
 public:
  StorageNemesis(std::string fault, NodeSelector selector, CorruptOptions corrupt)
      : fault_(std::move(fault)), selector_(std::move(selector)), corrupt_(std::move(corrupt)) {}

  void setup(NemesisContext& context) override {
    NodeControl& cluster = context.cluster;
    binary_ = companion_file("faultline-lyingfs", "the storage nemeses");
    // Every storage nemesis gives the same mount: whichever the target keeps, it is this one.
    dynamic_cast<StorageControl&>(context.target)
        .use_data_mount([&cluster, binary = binary_](const std::string& node,
                                                     const std::string& backing_dir,
                                                     const std::string& data_dir) {
          std::string program = cluster.files().upload(node, binary);
          cluster.spawn_mount(node, data_dir,
                              {{program, "mount", backing_dir, data_dir},
                               {},
                               cluster.files().node_dir(node) + "/lyingfs.log"});
        });
  }

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    auto& process = dynamic_cast<ProcessControl&>(context.target);
    auto& storage = dynamic_cast<StorageControl&>(context.target);
    std::vector<std::string> nodes = selector_.choose(context, rng);
    json killed = json::object(), done = json::object();
    for (const auto& node : nodes) {
      affected_.push_back(node);  // before acting: stop() must restart even after a half start
      killed[node] = process.kill(node);
      std::string program = context.cluster.files().upload(node, binary_);
      json replies = json::array();
      for (const auto& command : commands_for(fault_, corrupt_)) {
        std::vector<std::string> argv{program, "ctl", storage.data_dir(node)};
        argv.insert(argv.end(), command.begin(), command.end());
        CommandResult r = context.cluster.run(node, argv);
        json reply = json::parse(r.output, nullptr, false);
        if (reply.is_discarded()) reply = {{"error", r.output}};
        reply["command"] = command;
        replies.push_back(reply);
      }
      done[node] = replies;
    }
    description_ = fault_ + " on " + join_nodes(nodes);
    return {{"nodes", nodes}, {"killed", killed}, {"storage", done},
            {"process", process.process_description()}};
  }

  json stop(NemesisContext& context) override {
    auto& process = dynamic_cast<ProcessControl&>(context.target);
    json pids = json::object();
    for (const auto& node : affected_) pids[node] = process.restart(node);
    affected_.clear();
    description_.clear();
    return {{"restarted", pids}};
  }

  std::string describe_active() const override { return description_; }

 private:
  std::string fault_;
  NodeSelector selector_;
  CorruptOptions corrupt_;
  std::filesystem::path binary_;
  std::vector<std::string> affected_;
  std::string description_;
};

std::unique_ptr<Nemesis> make(const std::string& fault, FieldReader& options,
                              const NemesisEnv& env) {
  require_ability<StorageControl>(env.target, fault, "put its data on a faulty filesystem");
  require_ability<ProcessControl>(env.target, fault, "kill and restart its servers");
  // A FUSE mount under a remote server's data folder would need lyingfs installed there;
  // refused at load time rather than half-way through a run.
  if (env.remote)
    throw NemesisUnsupported(fault + " needs a local node (lyingfs mount); not supported on SSH hosts");
  CorruptOptions corrupt;
  if (fault == "corrupt") {
    corrupt.files = options.strings("files", std::nullopt);
    if (corrupt.files.empty()) options.fail_key("files", "expected at least one file");
    for (const auto& f : corrupt.files)
      if (f.empty() || f[0] == '/' || f.find("..") != std::string::npos)
        options.fail_key("files", "'" + f + "' is not a path inside the data folder");
    corrupt.mode = options.choice("mode", {"bitflip", "truncate"}, "bitflip");
    corrupt.bits = options.integer("bits", 8, 1, 1 << 20);
    corrupt.bytes = options.integer("bytes", 512, 1, 1ll << 40);
  }
  NodeSelector selector(options, "nodes", env, {"one"});
  return std::make_unique<StorageNemesis>(fault, std::move(selector), std::move(corrupt));
}

const bool registered_lose = NemesisRegistry::add(
    "lose-unsynced",
    [](FieldReader& options, const NemesisEnv& env) { return make("lose-unsynced", options, env); });
const bool registered_torn = NemesisRegistry::add(
    "torn-write",
    [](FieldReader& options, const NemesisEnv& env) { return make("torn-write", options, env); });
const bool registered_corrupt = NemesisRegistry::add(
    "corrupt",
    [](FieldReader& options, const NemesisEnv& env) { return make("corrupt", options, env); });

}  // namespace
}  // namespace faultline
