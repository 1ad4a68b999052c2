// The transactional workloads (list-append, rw-register) and the postgres target's spec:
// generation properties, final reads, and a serial in-memory execution checked as valid.
#include <catch2/catch.hpp>

#include <map>

#include "harness/spec.h"

using namespace faultline;
using nlohmann::json;

namespace {

std::string spec_text(const std::string& workload_options, const std::string& target_options =
                                                                 "nodes: 1, isolation: serializable") {
  return "name: t\n"
         "target:   { system: postgres, " + target_options + " }\n"
         "workload: { " + workload_options + " }\n"
         "time_limit_s: 5\n"
         "seed: 3\n";
}

// The message of the SpecError that loading `yaml` throws, or "" if it loads.
std::string spec_error(const std::string& yaml) {
  std::string message;
  CHECK_THROWS_AS([&] {
    try {
      load_test_text(yaml, "spec.yaml");
    } catch (const SpecError& e) {
      message = e.what();
      throw;
    }
  }(), SpecError);
  return message;
}

// Runs `n` generated txns one after another against a map, as a serializable store would, and
// records them as a history (process 0, invoke then ok).
History run_serially(Workload& workload, int n, bool list_append) {
  Rng rng(42);
  std::map<std::int64_t, json> store;
  History history;
  for (int i = 0; i < n; ++i) {
    Op op = workload.generate(rng);
    op.process = 0;
    op.index = static_cast<std::int64_t>(history.size());
    history.push_back(op);
    for (json& mop : op.value) {
      std::int64_t k = mop[1];
      if (mop[0] == "r") {
        mop[2] = store.count(k) ? store[k] : json(nullptr);
      } else if (list_append) {
        if (!store.count(k)) store[k] = json::array();
        store[k].push_back(mop[2]);
      } else {
        store[k] = mop[2];
      }
    }
    op.type = OpType::ok;
    op.index = static_cast<std::int64_t>(history.size());
    history.push_back(op);
  }
  return history;
}

}  // namespace

TEST_CASE("txn workloads: the three postgres examples load with their claims") {
  for (std::string level : {"serializable", "repeatable-read", "read-committed"}) {
    Test test = load_test(FAULTLINE_SOURCE_DIR "/examples/postgres-append-" + level + ".yaml");
    CHECK(test.spec.system == "postgres");
    CHECK(test.spec.node_count == 1);
    CHECK(test.spec.concurrency >= 10);
    CHECK(test.resolved["target"]["isolation"].as<std::string>() == level);
    CHECK(test.resolved["workload"]["claim"].as<std::string>() == level);
    CHECK(test.workload->guarantee() == level + " transactions (list-append)");
    CHECK(test.target->supported_ops() ==
          std::vector<std::string>{"txn", "txn:append", "txn:w", "txn:r", "add", "read", "open-accounts",
                                   "transfer", "read-accounts"});
  }
}

TEST_CASE("txn workloads: postgres and workload options are validated") {
  CHECK(spec_error(spec_text("name: list-append", "nodes: 3")).find("target.nodes: postgres runs one server") !=
        std::string::npos);
  CHECK(spec_error(spec_text("name: list-append", "nodes: 1, isolation: snapshot")).find("isolation") !=
        std::string::npos);
  CHECK(spec_error(spec_text("name: list-append, claim: linearizable")).find("claim") != std::string::npos);
  CHECK(spec_error(spec_text("name: rw-register, max_txn_length: 0")).find("max_txn_length") !=
        std::string::npos);
  CHECK(spec_error(spec_text("name: register")).find("does not support") != std::string::npos);
  Test test = load_test_text(spec_text("name: list-append"), "spec.yaml");
  CHECK(test.resolved["target"]["isolation"].as<std::string>() == "serializable");
  CHECK(test.resolved["workload"]["claim"].as<std::string>() == "serializable");
  CHECK(test.resolved["workload"]["max_writes_per_key"].as<int>() == 32);
}

TEST_CASE("txn workloads: unique values per key, keys retired after max_writes_per_key") {
  Test test = load_test_text(
      spec_text("name: list-append, keys: 5, max_txn_length: 3, max_writes_per_key: 4"), "spec.yaml");
  Rng rng(1);
  std::map<std::int64_t, std::vector<std::int64_t>> appended;
  std::map<std::int64_t, int> touched;
  for (int i = 0; i < 2000; ++i) {
    Op op = test.workload->generate(rng);
    REQUIRE(op.f == "txn");
    REQUIRE(op.value.size() >= 1);
    REQUIRE(op.value.size() <= 3);
    for (const json& mop : op.value) {
      std::int64_t k = mop[1];
      ++touched[k];
      if (mop[0] == "append") {
        appended[k].push_back(mop[2]);
      } else {
        REQUIRE(mop[0] == "r");
        REQUIRE(mop[2].is_null());
      }
    }
  }
  for (const auto& [k, values] : appended) {
    CHECK(values.size() <= 4);  // retired after 4 appends
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(values[i] == static_cast<std::int64_t>(i + 1));
  }
  CHECK(appended.size() > 100);  // fresh keys keep coming
  // Final reads cover every key ever handed out, 16 a txn.
  std::set<std::int64_t> final_keys;
  for (const Op& op : test.workload->final_ops()) {
    CHECK(op.value.size() <= 16);
    for (const json& mop : op.value) final_keys.insert(mop[1].get<std::int64_t>());
  }
  for (const auto& [k, n] : touched) CHECK(final_keys.count(k));
}

TEST_CASE("txn workloads: a serial execution of generated txns checks valid (both workloads)") {
  for (std::string name : {"list-append", "rw-register"}) {
    INFO(name);
    Test test = load_test_text(spec_text("name: " + name + ", claim: strict-serializable"), "spec.yaml");
    History history = run_serially(*test.workload, 1500, name == "list-append");
    auto results = checker::check_all(test.workload->checkers(), history, CheckLimits{}).checks;
    REQUIRE(results.size() == 1);
    CHECK(results[0].checker == "elle-" + name);
    CHECK(results[0].model == "strict-serializable");
    CHECK(results[0].verdict == checker::Verdict::valid);
    CHECK(results[0].details["txns"]["ok"] == 1500);
  }
}
