// Clock faults: per-node wall-clock offsets through an offset file per node that the servers
// follow (libfaultline_clock.so for Redis, libfaketime for servers that run under it): a
// scratch file of the node (NodeFiles::scratch_path), written before the servers start, through
// NodeFiles::write_file, which journals it for removal before it is made.
//
// Options (nemesis.clock):
//   modes     [bump, strobe] (default both): bump sets one offset; strobe flips between that
//             offset and none every period_ms until stopped; reset sets every chosen node to 0
//   delta_ms  the offset (signed); absent: random, ±max_ms/4..max_ms
//   max_ms    bound of random offsets (default 5000)
//   period_ms strobe period (default 200)
//   nodes     a selector or node list (default one, minority, all)
// Stopping resets the chosen nodes to offset 0. Where the target reports its time (ClockControl:
// Redis TIME, PostgreSQL now()), the offset the server actually shows is measured and recorded
// next to the one written. On a target whose servers cannot follow the file (etcd: Go reads the
// clock without libc), the actions are recorded with "effective": false and the run's results
// say so (Target::limitations).
#include <algorithm>
#include <cmath>
#include <optional>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "nemesis/nemesis.h"

namespace faultline {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::vector<std::string> kModes = {"bump", "strobe", "reset"};

// The offset file's text: seconds, signed ("+1.500000").
std::string offset_text(double ms) {
  char text[64];
  std::snprintf(text, sizeof text, "%+.6f\n", ms / 1000.0);
  return text;
}

class ClockNemesis final : public Nemesis {
 public:
  ClockNemesis(std::vector<std::string> modes, std::optional<double> delta_ms, double max_ms,
               double period_ms, NodeSelector selector)
      : modes_(std::move(modes)), delta_ms_(delta_ms), max_ms_(max_ms), period_ms_(period_ms),
        selector_(std::move(selector)) {}

  ~ClockNemesis() override { end_strobe(); }

  void setup(NemesisContext& context) override {
    NodeFiles& files = context.cluster.files();
    for (const auto& node : context.cluster.nodes()) {
      offset_files_[node.name] = files.scratch_path(node.name, "clock");
      files.write_file(node.name, offset_files_[node.name], offset_text(0));
    }
    if (auto* clock = dynamic_cast<ClockControl*>(&context.target)) clock->use_clock_files(offset_files_);
  }

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    std::vector<std::string> nodes = selector_.choose(context, rng);
    std::string mode = modes_[rng() % modes_.size()];
    double delta = 0;
    if (mode != "reset") {
      delta = delta_ms_.value_or(0);
      if (!delta_ms_) {
        std::uniform_real_distribution<double> magnitude(max_ms_ / 4, max_ms_);
        delta = std::round(magnitude(rng)) * (rng() % 2 ? 1 : -1);
      }
    }
    affected_ = nodes;
    for (const auto& node : nodes) write_offset(context.cluster.files(), node, delta);
    if (mode == "strobe") begin_strobe(context, nodes, delta);
    char text[96];
    std::snprintf(text, sizeof text, "%s %+.0f ms on ", mode.c_str(), delta);
    description_ = text + join_nodes(nodes);
    json offsets = json::object();
    for (const auto& node : nodes) offsets[node] = delta;
    json what = {{"mode", mode}, {"nodes", nodes}, {"offsets_ms", offsets}};
    if (mode == "strobe") what["period_ms"] = period_ms_;
    if (mode != "strobe") add_measurements(context, nodes, what);
    return what;
  }

  json stop(NemesisContext& context) override {
    end_strobe();
    for (const auto& node : affected_) write_offset(context.cluster.files(), node, 0);
    json what = {{"reset", affected_}};
    add_measurements(context, affected_, what);
    affected_.clear();
    description_.clear();
    return what;
  }

  std::string describe_active() const override { return description_; }

 private:
  // Atomically (the servers re-read the file at any moment).
  void write_offset(NodeFiles& files, const std::string& node, double ms) {
    files.write_file(node, offset_files_.at(node), offset_text(ms));
  }

  // Records what the servers report, or that they cannot be skewed.
  static void add_measurements(NemesisContext& context, const std::vector<std::string>& nodes,
                               json& what) {
    auto* clock = dynamic_cast<ClockControl*>(&context.target);
    if (!clock) {
      what["effective"] = false;
      json limits = context.target.limitations();
      if (limits.contains("clock")) what["note"] = limits["clock"];
      return;
    }
    std::this_thread::sleep_for(50ms);  // the servers re-read the file within 10 ms
    json measured = json::object();
    for (const auto& node : nodes) {
      auto offset = clock->measure_clock_offset_ms(node);
      measured[node] = offset ? json(std::round(*offset * 10) / 10) : json(nullptr);
    }
    what["measured_ms"] = measured;
  }

  void begin_strobe(NemesisContext& context, std::vector<std::string> nodes, double delta) {
    end_strobe();
    strobe_stop_ = false;
    strobe_ = std::thread([this, &files = context.cluster.files(), nodes, delta] {
      bool on = true;
      std::unique_lock lock(strobe_mutex_);
      while (!strobe_cv_.wait_for(lock, std::chrono::duration<double, std::milli>(period_ms_),
                                  [&] { return strobe_stop_; })) {
        on = !on;
        try {
          for (const auto& node : nodes) write_offset(files, node, on ? delta : 0);
        } catch (const std::exception&) {
          return;  // stop() writes the reset and reports
        }
      }
    });
  }

  void end_strobe() {
    {
      std::lock_guard lock(strobe_mutex_);
      strobe_stop_ = true;
    }
    strobe_cv_.notify_all();
    if (strobe_.joinable()) strobe_.join();
  }

  std::vector<std::string> modes_;
  std::optional<double> delta_ms_;
  double max_ms_;
  double period_ms_;
  NodeSelector selector_;
  std::map<std::string, std::string> offset_files_;  // by node, made at setup
  std::vector<std::string> affected_;
  std::string description_;
  std::mutex strobe_mutex_;
  std::condition_variable strobe_cv_;
  bool strobe_stop_ = false;
  std::thread strobe_;
};

const bool registered = NemesisRegistry::add("clock", [](FieldReader& options,
                                                           const NemesisEnv& env) {
  auto modes = options.strings("modes", std::vector<std::string>{"bump", "strobe"});
  for (const auto& m : modes)
    if (std::find(kModes.begin(), kModes.end(), m) == kModes.end())
      options.fail_key("modes", "unknown mode '" + printable(m) + "' (expected bump, strobe or reset)");
  if (modes.empty()) options.fail_key("modes", "expected at least one of bump, strobe, reset");
  std::optional<double> delta;
  if (options.has("delta_ms")) delta = options.number("delta_ms", std::nullopt, -1e9, 1e9);
  double max_ms = options.number("max_ms", 5000, 1, 1e9);
  double period_ms = options.number("period_ms", 200, 10, 60000);
  NodeSelector selector(options, "nodes", env, {"one", "minority", "all"});
  return std::make_unique<ClockNemesis>(modes, delta, max_ms, period_ms, std::move(selector));
});

}  // namespace
}  // namespace faultline
