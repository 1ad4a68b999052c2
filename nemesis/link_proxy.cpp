#include "nemesis/link_proxy.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

namespace faultline {
namespace {

using namespace std::chrono_literals;

// The proxies' port on each node's loopback: none of the targets' servers use it.
constexpr int kProxyPort = 24613;
// SO_MARK of the proxies' own connections ("FL"): the NAT chain lets them through.
constexpr int kProxyMark = 0x464c;
constexpr auto kProxyStartBudget = 5s;
const char* kChain = "FL-PROXY";

struct Fleet {
  std::map<std::string, std::unique_ptr<NodeProcess>> proxies;  // by node
  std::map<std::string, std::string> config_files;              // by node
  std::map<const void*, std::vector<std::pair<std::uint64_t, LinkToxic>>> held;  // by owner, with ids
  std::uint64_t next_id = 1;
};

std::mutex g_fleets_mutex;
std::map<std::string, Fleet> g_fleets;  // by run id

// The NAT rules of `node`: its TCP connections to every other node go to the proxy.
std::string nat_rules(NemesisContext& context, const std::string& node) {
  std::string text = "*nat\n:" + std::string(kChain) + " - [0:0]\n";
  text += "-A " + std::string(kChain) + " -m mark --mark " + std::to_string(kProxyMark) +
          " -j RETURN\n";
  for (const auto& peer : context.cluster.nodes())
    if (peer.name != node)
      text += "-A " + std::string(kChain) + " -d " + peer.address + "/32 -p tcp -j REDIRECT " +
              "--to-ports " + std::to_string(kProxyPort) + "\n";
  text += "-A OUTPUT -p tcp -j " + std::string(kChain) + "\nCOMMIT\n";
  return text;
}

void start_proxy(NemesisContext& context, Fleet& fleet, const std::string& node,
                 std::uint64_t seed) {
  NodeFiles& files = context.cluster.files();
  std::string config = files.scratch_path(node, "proxy");
  files.write_file(node, config, "");
  fleet.config_files[node] = config;
  std::string log = files.node_dir(node) + "/proxy.log";
  std::string binary = files.upload(node, FAULTLINE_PROXY_BINARY);
  fleet.proxies[node] = context.cluster.spawn(
      node, {{binary, "--listen-port", std::to_string(kProxyPort), "--config", config, "--mark",
              std::to_string(kProxyMark), "--seed", std::to_string(seed)},
             {},
             log});
  // Route through it only once it listens, or the servers' first connections are refused.
  auto deadline = std::chrono::steady_clock::now() + kProxyStartBudget;
  while (!files.exists(node, log) || files.read_file(node, log).find("listening") == std::string::npos) {
    if (!fleet.proxies[node]->running() || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the link proxy on " + node + " did not start: " +
                               (files.exists(node, log) ? files.read_file(node, log, 2000) : ""));
    std::this_thread::sleep_for(20ms);
  }
  CommandResult r = context.cluster.run(node, {"iptables-restore", "-w", "5", "--noflush"},
                                        nat_rules(context, node));
  if (!r.ok()) throw std::runtime_error("iptables-restore (nat) on " + node + ": " + r.output);
}

std::string config_line(std::uint64_t id, const LinkToxic& t, const std::string& peer_address,
                        const char* direction) {
  char text[256];
  std::snprintf(text, sizeof text, "%llu %s %s %s %.4f %.3f %.3f\n",
                static_cast<unsigned long long>(id), t.kind.c_str(), peer_address.c_str(),
                direction, t.probability, t.a, t.b);
  return text;
}

}  // namespace

void ensure_link_proxies(NemesisContext& context) {
  std::lock_guard lock(g_fleets_mutex);
  Fleet& fleet = g_fleets[context.run_id];
  std::uint64_t seed = std::hash<std::string>{}(context.run_id);
  for (const auto& node : context.cluster.nodes())
    if (!fleet.proxies.count(node.name)) start_proxy(context, fleet, node.name, ++seed);
}

void set_link_toxics(NemesisContext& context, const void* owner, std::vector<LinkToxic> toxics) {
  std::lock_guard lock(g_fleets_mutex);
  Fleet& fleet = g_fleets.at(context.run_id);
  // A toxic keeps its id while held: connections roll its probability once, not at every rewrite.
  fleet.held.erase(owner);
  for (auto& t : toxics) fleet.held[owner].emplace_back(fleet.next_id++, std::move(t));
  // Each toxic is two lines: the sender's proxy acts on what it sends on its own connections,
  // the receiver's on what it receives on the connections it opened.
  std::map<std::string, std::string> text;
  for (const auto& [_, held] : fleet.held)
    for (const auto& [id, t] : held) {
      text[t.from] += config_line(id, t, context.cluster.node(t.to).address, "send");
      text[t.to] += config_line(id, t, context.cluster.node(t.from).address, "receive");
    }
  for (const auto& [node, config] : fleet.config_files) {
    if (!fleet.proxies.at(node)->running())
      throw std::runtime_error("the link proxy on " + node + " is gone (see its proxy.log)");
    context.cluster.files().write_file(node, config, text[node]);
  }
}

}  // namespace faultline
