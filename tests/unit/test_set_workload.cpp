// The set workload's checker: lost, recovered and unexpected elements from a final read.
#include <catch2/catch.hpp>

#include "workloads/workload.h"

using namespace faultline;

namespace {

std::unique_ptr<Workload> set_workload() {
  YAML::Node options = YAML::Load("{ }");
  FieldReader reader(options, "spec.yaml", "workload");
  return (*WorkloadRegistry::find("set"))(reader);
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
  auto results = set_workload()->check(h, {});
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
  CHECK(set_workload()->check(h, {})[0].verdict == checker::Verdict::valid);
  CHECK(set_workload()->check(without_read, {})[0].verdict == checker::Verdict::unknown);
}
