// The set workload's checker (checker/set): lost, recovered and unexpected elements from a
// final read, through the workload as a run uses it.
#include <catch2/catch.hpp>

#include "checker/set/set_full.h"
#include "workloads/workload.h"

using namespace faultline;

namespace {

std::unique_ptr<Workload> set_workload() {
  YAML::Node options = YAML::Load("{ }");
  FieldReader reader(options, "spec.yaml", "workload");
  return (*WorkloadRegistry::find("set"))(reader);
}

std::vector<checker::CheckResult> check(const History& h) {
  return checker::check_all(set_workload()->checkers(), h, {}).checks;
}

void op(History& h, std::int64_t process, OpType type, const std::string& f, nlohmann::json value) {
  Op o;
  o.index = static_cast<std::int64_t>(h.size());
  o.process = process;
  o.type = type;
  o.f = f;
  o.key = "s";
  o.value = std::move(value);
  h.push_back(o);
}

}  // namespace

TEST_CASE("set workload: acknowledged adds missing from the final read are lost") {
  History h;
  op(h, 0, OpType::invoke, "add", 1); op(h, 0, OpType::ok, "add", 1);
  op(h, 1, OpType::invoke, "add", 2); op(h, 1, OpType::ok, "add", 2);
  op(h, 2, OpType::invoke, "add", 3); op(h, 2, OpType::info, "add", 3);   // may have happened
  op(h, 3, OpType::invoke, "add", 4); op(h, 3, OpType::info, "add", 4);
  op(h, 4, OpType::invoke, "add", 5); op(h, 4, OpType::fail, "add", 5);   // certainly did not
  op(h, 5, OpType::invoke, "read", nullptr); op(h, 5, OpType::ok, "read", {1, 3, 5, 9});
  auto results = check(h);
  REQUIRE(results.size() == 1);
  const auto& r = results[0];
  CHECK(r.verdict == checker::Verdict::invalid);
  CHECK(r.details["lost"] == nlohmann::json({2}));
  CHECK(r.details["ok"] == 1);
  CHECK(r.details["recovered"] == nlohmann::json({3}));
  CHECK(r.details["unexpected"] == nlohmann::json({5, 9}));
  CHECK(r.summary.find("1 of 2 acknowledged adds lost") == 0);
}

TEST_CASE("set workload: all acknowledged adds present is valid, no final read is unknown") {
  History h;
  op(h, 0, OpType::invoke, "add", 1); op(h, 0, OpType::ok, "add", 1);
  op(h, 1, OpType::invoke, "add", 2); op(h, 1, OpType::info, "add", 2);
  History without_read = h;
  op(h, 2, OpType::invoke, "read", nullptr); op(h, 2, OpType::ok, "read", {1});
  CHECK(check(h)[0].verdict == checker::Verdict::valid);
  CHECK(check(without_read)[0].verdict == checker::Verdict::unknown);
}

TEST_CASE("set checker: lost and unexpected elements are typed anomalies with their adds") {
  History h;
  op(h, 0, OpType::invoke, "add", 1); op(h, 0, OpType::ok, "add", 1);
  op(h, 1, OpType::invoke, "add", 2); op(h, 1, OpType::ok, "add", 2);   // lost
  op(h, 2, OpType::invoke, "add", 5); op(h, 2, OpType::fail, "add", 5); // unexpected
  op(h, 3, OpType::invoke, "read", nullptr); op(h, 3, OpType::ok, "read", {1, 5});
  checker::CheckResult r = checker::check_set_full(h);
  REQUIRE(r.anomalies.size() == 2);
  const checker::Anomaly& lost = r.anomalies[0];
  CHECK(lost.kind == "lost");
  CHECK(lost.keys == std::vector<std::string>{"s"});
  CHECK(lost.ops == std::vector<std::int64_t>{2, 6});  // the add of 2 and the final read
  CHECK(lost.focus == 6);
  CHECK(lost.headline == "1 of 2 acknowledged adds lost");
  CHECK(r.anomalies[1].kind == "unexpected");
  CHECK(r.anomalies[1].ops == std::vector<std::int64_t>{4, 6});
  CHECK(checker::check_set_full(History{}).anomalies.empty());
}
