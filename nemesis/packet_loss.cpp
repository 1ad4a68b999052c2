// Packet loss: the chosen nodes drop each incoming packet with probability P (iptables
// `-m statistic --mode random`, chain FL-LOSS inside the node's namespace), from peers and
// clients alike. Options (nemesis.packet-loss): probability (default 0.3), nodes (a selector or
// node list, default one, minority, all).
// Reordering and duplication need tc netem, which this kernel does not have: asking for them is
// an error at load time rather than a fault that silently does nothing. Delay and slow links
// come from the userspace link proxy instead (nemesis/link_faults.cpp: latency, bandwidth, ...).
#include <cstdio>

#include "nemesis/iptables.h"

namespace faultline {
namespace {

using nlohmann::json;

const char* kChain = "FL-LOSS";

class PacketLossNemesis final : public Nemesis {
 public:
  PacketLossNemesis(double probability, NodeSelector selector)
      : probability_(probability), selector_(std::move(selector)) {}

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    std::vector<std::string> nodes = selector_.choose(context, rng);
    char p[32];
    std::snprintf(p, sizeof p, "%.4f", probability_);
    for (const auto& node : nodes) {
      affected_.push_back(node);
      set_input_chain(context, node, kChain,
                      {"-m statistic --mode random --probability " + std::string(p) + " -j DROP"});
    }
    description_ = join_nodes(nodes) + " drop " + std::to_string(static_cast<int>(probability_ * 100)) + "%";
    return {{"nodes", nodes}, {"probability", probability_}, {"description", description_}};
  }

  json stop(NemesisContext& context) override {
    std::vector<std::string> affected = std::move(affected_);
    affected_.clear();
    on_each_node(affected, [&](const std::string& node) { set_input_chain(context, node, kChain, {}); });
    json healed = affected;
    description_.clear();
    return {{"healed", healed}};
  }

  std::string describe_active() const override { return description_; }

 private:
  double probability_;
  NodeSelector selector_;
  std::vector<std::string> affected_;
  std::string description_;
};

const bool registered = NemesisRegistry::add("packet-loss", [](FieldReader& options,
                                                                 const NemesisEnv& env) {
  for (const char* key : {"delay_ms", "delay", "jitter_ms", "reorder", "duplicate", "rate"})
    if (options.has(key))
      options.fail_key(key, "needs tc netem, which is not available on this kernel (no sch_netem "
                            "module); packet-loss injects loss only; for delay use the fault "
                            "latency (latency_ms, jitter_ms), for rate limits bandwidth");
  double probability = options.number("probability", 0.3, 0.0001, 1);
  NodeSelector selector(options, "nodes", env, {"one", "minority", "all"});
  return std::make_unique<PacketLossNemesis>(probability, std::move(selector));
});

}  // namespace
}  // namespace faultline
