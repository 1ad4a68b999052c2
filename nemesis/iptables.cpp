#include "nemesis/iptables.h"

#include <mutex>
#include <set>

namespace faultline {

namespace {
std::mutex g_jumps_mutex;
std::set<std::string> g_jumps;  // run/node/chain whose INPUT jump exists
}  // namespace

void set_input_chain(NemesisContext& context, const std::string& node, const std::string& chain,
                     const std::vector<std::string>& rules) {
  std::string text = "*filter\n:" + chain + " - [0:0]\n";  // with --noflush: flushes this chain
  for (const auto& rule : rules) text += "-A " + chain + " " + rule + "\n";
  text += "COMMIT\n";
  CommandResult r = context.cluster.run(node, {"iptables-restore", "-w", "5", "--noflush"}, text);
  if (!r.ok()) throw std::runtime_error("iptables-restore on " + node + ": " + r.output);
  std::lock_guard lock(g_jumps_mutex);
  if (!g_jumps.insert(context.run_id + "/" + node + "/" + chain).second) return;
  r = context.cluster.run(node, {"iptables", "-w", "5", "-A", "INPUT", "-j", chain});
  if (!r.ok()) throw std::runtime_error("iptables on " + node + ": " + r.output);
}

void on_each_node(const std::vector<std::string>& nodes,
                  const std::function<void(const std::string&)>& action) {
  std::string failures;
  for (const auto& node : nodes) {
    try {
      action(node);
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (!failures.empty()) throw std::runtime_error(failures);
}

}  // namespace faultline
