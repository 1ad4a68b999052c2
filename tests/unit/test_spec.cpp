#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "harness/spec.h"
#include "tests/unit/spec_errors.h"

using namespace faultline;
using faultline::testing::error_of;

namespace {

const char* kGood = R"(name: t
target:   { system: etcd, nodes: 3, read: serializable }
workload: { name: register, keys: 4 }
clients:  { concurrency: 4, rate_per_s: 50, timeout_ms: 500 }
nemesis:  { faults: [partition], interval_s: 5, partition: { shapes: [one] } }
time_limit_s: 20
seed: 7
)";


}  // namespace

TEST_CASE("spec: a good spec loads, with defaults and the seed resolved") {
  Test test = load_test_text(kGood, "spec.yaml");
  CHECK(test.spec.name == "t");
  CHECK(test.spec.node_count == 3);
  CHECK(test.spec.concurrency == 4);
  CHECK(test.spec.seed == 7);
  CHECK(test.spec.faults == std::vector<std::string>{"partition"});
  CHECK(test.resolved["workload"]["values"].as<int>() == 5);  // default filled in
  CHECK(test.resolved["target"]["read"].as<std::string>() == "serializable");

  Test overridden = load_test_text(kGood, "spec.yaml", SpecOverrides{10, 2, 5, 99});
  CHECK(overridden.spec.time_limit_s == 10);
  CHECK(overridden.spec.concurrency == 2);
  CHECK(overridden.spec.node_count == 5);
  CHECK(overridden.resolved["seed"].as<std::uint64_t>() == 99);
  CHECK(overridden.resolved["target"]["nodes"].as<int>() == 5);
}

TEST_CASE("spec: no seed given means a random one, saved in the resolved spec") {
  std::string yaml = kGood;
  yaml.replace(yaml.find("seed: 7"), 7, "");
  Test test = load_test_text(yaml, "spec.yaml");
  CHECK(test.resolved["seed"].as<std::uint64_t>() == test.spec.seed);
}

TEST_CASE("spec: errors name file, line and column, and what was expected") {
  std::string yaml = kGood;
  yaml.replace(yaml.find("keys: 4"), 7, "kyes: 4");
  CHECK(error_of(yaml).find("spec.yaml:3:") == 0);
  CHECK(error_of(yaml).find("unknown key 'kyes' in workload") != std::string::npos);

  yaml = kGood;
  yaml.replace(yaml.find("concurrency: 4"), 14, "concurrency: many");
  CHECK(error_of(yaml).find("spec.yaml:4:26: clients.concurrency: expected an integer") == 0);

  yaml = kGood;
  yaml.replace(yaml.find("system: etcd"), 12, "system: mongo");
  CHECK(error_of(yaml).find("spec.yaml:2:") == 0);
  CHECK(error_of(yaml).find("'mongo' is not known; expected one of: custom, etcd") != std::string::npos);

  yaml = kGood;
  yaml.replace(yaml.find("name: t\n"), 8, "");
  CHECK(error_of(yaml).find("missing spec.name") != std::string::npos);

  yaml = kGood;
  yaml.replace(yaml.find("[partition]"), 11, "[partition, meteor]");
  CHECK(error_of(yaml).find("unknown fault 'meteor'") != std::string::npos);

  yaml = kGood;
  yaml.replace(yaml.find("shapes: [one]"), 13, "shapes: [square]");
  CHECK(error_of(yaml).find("unknown shape 'square'") != std::string::npos);

  CHECK(error_of("name: [unclosed\n").find("spec.yaml:") == 0);
  CHECK(error_of("- a list\n").find("expected a mapping at the top level") != std::string::npos);
}

TEST_CASE("spec: clients.routing is sticky unless per-op, and nothing else") {
  CHECK(load_test_text(kGood, "spec.yaml").spec.routing == Routing::sticky);
  std::string yaml = kGood;
  yaml.replace(yaml.find("timeout_ms: 500"), 15, "timeout_ms: 500, routing: per-op");
  Test test = load_test_text(yaml, "spec.yaml");
  CHECK(test.spec.routing == Routing::per_op);
  CHECK(test.resolved["clients"]["routing"].as<std::string>() == "per-op");
  yaml.replace(yaml.find("per-op"), 6, "random");
  CHECK(error_of(yaml).find("clients.routing") != std::string::npos);
}

TEST_CASE("spec: a register claiming session guarantees writes values unique per key") {
  std::string yaml = kGood;
  yaml.replace(yaml.find("keys: 4"), 7, "keys: 2, claim: session-guarantees");
  Test test = load_test_text(yaml, "spec.yaml");
  CHECK(test.workload->ops() == std::vector<std::string>{"read", "write"});
  Rng rng(1);
  std::map<std::string, std::set<std::int64_t>> written;
  int writes = 0;
  for (int i = 0; i < 200; ++i) {
    Op op = test.workload->generate(rng);
    if (op.f != "write") continue;
    ++writes;
    CHECK(written[op.key].insert(op.value.get<std::int64_t>()).second);
  }
  CHECK(writes > 50);
  auto checkers = test.workload->checkers();
  REQUIRE(checkers.size() == 1);
  CHECK(checkers[0]->check({}, {}).checker == "session");
}

TEST_CASE("spec: the timestamps workload runs on redis, and a target without timed writes is refused") {
  Test test = load_test(FAULTLINE_SOURCE_DIR "/examples/redis-timestamps-skew.yaml");
  CHECK(test.spec.workload == "timestamps");
  CHECK(test.resolved["workload"]["claim"].as<std::string>() == "timestamps-follow-real-time");
  std::string yaml = kGood;
  yaml.replace(yaml.find("name: register, keys: 4"), 23, "name: timestamps");
  std::string error = error_of(yaml);
  CHECK(error.find("spec.yaml:3") != std::string::npos);
  CHECK(error.find("needs op 'timed-write'") != std::string::npos);
}
