// Nemesis sections of a spec: random faults and timelines, node selectors, and the errors a
// spec gets at load time (file:line:column) for what a target or this kernel cannot do.
#include <catch2/catch.hpp>

#include "harness/spec.h"
#include "tests/unit/spec_errors.h"

using namespace faultline;
using faultline::testing::error_of;

namespace {

// A target with no optional abilities: no kill, no pause, no known primary, no clock.
class PlainTarget final : public Target {
 public:
  std::vector<std::string> supported_ops() const override { return {"read", "write", "cas"}; }
  void start(const ClusterContext&) override {}
  void wait_healthy(std::chrono::seconds) override {}
  std::unique_ptr<Client> open_client(const NodeInfo&, const ClientOptions&) override {
    return nullptr;
  }
  void stop() noexcept override {}
  std::string version() const override { return "plain"; }
};

const bool registered = TargetRegistry::add(
    "plain-test-target", [](FieldReader&, int) { return std::make_unique<PlainTarget>(); });

std::string spec(const std::string& system, const std::string& nemesis) {
  return "name: t\n"
         "target:   { system: " + system + ", nodes: 3 }\n"
         "workload: { name: register }\n"
         "nemesis:\n" + nemesis + "time_limit_s: 20\nseed: 1\n";
}


}  // namespace

TEST_CASE("nemesis spec: random faults with selectors and options load") {
  Test test = load_test_text(spec("etcd",
      "  faults: [partition, kill, pause, packet-loss, clock]\n"
      "  interval_s: 3\n"
      "  kill: { nodes: [one, primaries] }\n"
      "  pause: { nodes: [n1, n3] }\n"
      "  packet-loss: { probability: 0.25, nodes: all }\n"
      "  clock: { modes: [bump], delta_ms: -2000 }\n"
      "  partition: { shapes: [primaries, halves] }\n"), "spec.yaml");
  CHECK(test.nemeses.size() == 5);
  CHECK(test.timeline.empty());
  CHECK(test.resolved["nemesis"]["packet-loss"]["probability"].as<double>() == 0.25);
  CHECK(test.resolved["nemesis"]["kill"]["nodes"][1].as<std::string>() == "primaries");
}

TEST_CASE("nemesis spec: a timeline loads in order, one nemesis per entry") {
  Test test = load_test_text(spec("etcd",
      "  timeline:\n"
      "    - { at_s: 5, fault: kill, nodes: [n1], duration_s: 5 }\n"
      "    - { at_s: 6, fault: partition, nodes: primaries }\n"
      "    - { at_s: 10, fault: kill, nodes: [n2], duration_s: 2 }\n"), "spec.yaml");
  REQUIRE(test.timeline.size() == 3);
  CHECK(test.timeline[0].at_s == 5);
  CHECK(*test.timeline[0].duration_s == 5);
  CHECK(!test.timeline[1].duration_s);  // holds until the final heal
  CHECK(test.nemeses[test.timeline[2].nemesis].first == "kill");
  CHECK(test.resolved["nemesis"]["timeline"][1]["fault"].as<std::string>() == "partition");
}

TEST_CASE("nemesis spec: errors name the place and the reason") {
  // Overlapping entries of one fault.
  std::string e = error_of(spec("etcd",
      "  timeline:\n"
      "    - { at_s: 5, fault: kill, nodes: [n1], duration_s: 5 }\n"
      "    - { at_s: 8, fault: kill, nodes: [n2] }\n"));
  CHECK(e.find("spec.yaml:7:") == 0);
  CHECK(e.find("overlaps the kill at line 6") != std::string::npos);
  // A node that does not exist, a selector that does not.
  CHECK(error_of(spec("etcd", "  faults: [kill]\n  kill: { nodes: [n1, n7] }\n"))
            .find("'n7' is neither a selector nor a node") != std::string::npos);
  CHECK(error_of(spec("etcd", "  faults: [pause]\n  pause: { nodes: most }\n"))
            .find("'most' is neither") != std::string::npos);
  // Delay needs tc netem, which this kernel lacks.
  e = error_of(spec("etcd", "  faults: [packet-loss]\n  packet-loss: { delay_ms: 50 }\n"));
  CHECK(e.find("spec.yaml:6:") == 0);
  CHECK(e.find("tc netem") != std::string::npos);
  CHECK(e.find("fault latency") != std::string::npos);
  // Both forms at once; unknown fault in a timeline.
  CHECK(error_of(spec("etcd", "  faults: [kill]\n  timeline: [ {at_s: 1, fault: kill} ]\n"))
            .find("either faults") != std::string::npos);
  CHECK(error_of(spec("etcd", "  timeline: [ {at_s: 1, fault: flood} ]\n"))
            .find("'flood' is not known") != std::string::npos);
  CHECK(error_of(spec("etcd", "  faults: [clock]\n  clock: { modes: [warp] }\n"))
            .find("unknown mode 'warp'") != std::string::npos);
}

TEST_CASE("nemesis spec: a fault the target cannot serve is an error at load time") {
  std::string e = error_of(spec("plain-test-target", "  faults: [partition, kill]\n"));
  CHECK(e.find("spec.yaml:5:") == 0);
  CHECK(e.find("fault 'kill' needs a target that can kill and restart") != std::string::npos);
  e = error_of(spec("plain-test-target", "  timeline: [ {at_s: 1, fault: pause, nodes: [n1]} ]\n"));
  CHECK(e.find("fault 'pause' needs a target that can pause") != std::string::npos);
  CHECK(error_of(spec("plain-test-target", "  faults: [partition]\n  partition: { shapes: [primaries] }\n"))
            .find("needs a target that knows its primary") != std::string::npos);
  CHECK(error_of(spec("plain-test-target", "  faults: [packet-loss]\n  packet-loss: { nodes: primaries }\n"))
            .find("needs a target that knows its primary") != std::string::npos);
  // Without primaries, the plain target's default partition shapes leave that shape out.
  CHECK(error_of(spec("plain-test-target", "  faults: [partition]\n")) == "");
}

TEST_CASE("nemesis spec: storage faults need a target that puts its data on the faulty filesystem") {
  std::string e = error_of(spec("plain-test-target", "  faults: [lose-unsynced]\n"));
  CHECK(e.find("spec.yaml:") != std::string::npos);
  CHECK(e.find("put its data on a faulty filesystem") != std::string::npos);
  for (const char* fault : {"lose-unsynced", "torn-write"})
    CHECK(error_of(spec("etcd", std::string("  faults: [") + fault + "]\n")) == "");
}

TEST_CASE("nemesis spec: corrupt names files inside the data folder, and a mode") {
  CHECK(error_of(spec("etcd",
      "  timeline:\n"
      "    - { at_s: 1, fault: corrupt, nodes: [n1], files: [member/snap/db], mode: truncate, "
      "bytes: 4096 }\n")) == "");
  CHECK(error_of(spec("etcd", "  timeline:\n    - { at_s: 1, fault: corrupt }\n"))
            .find("files") != std::string::npos);
  for (const char* bad : {"/etc/passwd", "../x"}) {
    std::string e = error_of(spec("etcd",
        std::string("  timeline:\n    - { at_s: 1, fault: corrupt, files: [") + bad + "] }\n"));
    INFO(e);
    CHECK(e.find("not a path inside the data folder") != std::string::npos);
  }
  CHECK(error_of(spec("etcd",
      "  timeline:\n    - { at_s: 1, fault: corrupt, files: [db], mode: shred }\n"))
            .find("mode") != std::string::npos);
}

TEST_CASE("nemesis spec: link faults take Toxiproxy's options, with defaults saved") {
  Test test = load_test_text(spec("etcd",
      "  timeline:\n"
      "    - { at_s: 2, fault: latency, nodes: all, latency_ms: 200, jitter_ms: 50, duration_s: 5 }\n"
      "    - { at_s: 3, fault: timeout, nodes: primaries, direction: outgoing, duration_s: 5 }\n"
      "    - { at_s: 4, fault: bandwidth, nodes: [n1], peers: [n2], rate_kb_per_s: 64 }\n"
      "    - { at_s: 5, fault: slow-close, delay_ms: 500, probability: 0.5 }\n"
      "    - { at_s: 6, fault: reset-peer, nodes: [n3], direction: incoming }\n"), "spec.yaml");
  REQUIRE(test.timeline.size() == 5);
  CHECK(test.resolved["nemesis"]["timeline"][0]["direction"].as<std::string>() == "both");
  CHECK(test.resolved["nemesis"]["timeline"][2]["rate_kb_per_s"].as<double>() == 64);
  CHECK(test.resolved["nemesis"]["timeline"][3]["probability"].as<double>() == 0.5);
  // Random faults too; each is a fault of its own in the vocabulary.
  test = load_test_text(spec("etcd", "  faults: [latency, reset-peer]\n  latency: { latency_ms: 30 }\n"),
                        "spec.yaml");
  CHECK(test.nemeses.size() == 2);
  for (const char* fault : {"latency", "bandwidth", "slow-close", "timeout", "reset-peer"})
    CHECK(NemesisRegistry::find(fault) != nullptr);
}

TEST_CASE("nemesis spec: link fault errors name the place and the reason") {
  std::string e = error_of(spec("etcd", "  faults: [latency]\n  latency: { direction: sideways }\n"));
  CHECK(e.find("spec.yaml:6:") == 0);
  CHECK(e.find("direction") != std::string::npos);
  CHECK(error_of(spec("etcd", "  faults: [latency]\n  latency: { latency_ms: -5 }\n")) != "");
  CHECK(error_of(spec("etcd", "  faults: [bandwidth]\n  bandwidth: { rate: 5 }\n")).find("rate") !=
        std::string::npos);
  CHECK(error_of(spec("etcd", "  faults: [timeout]\n  timeout: { peers: [n9] }\n"))
            .find("'n9' is neither a selector nor a node") != std::string::npos);
  CHECK(error_of(spec("plain-test-target", "  faults: [timeout]\n  timeout: { nodes: primaries }\n"))
            .find("needs a target that knows its primary") != std::string::npos);
}
