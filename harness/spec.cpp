#include "harness/spec.h"

#include <fstream>
#include <random>
#include <sstream>

namespace faultline {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void check_ops_supported(const Test& test, FieldReader& workload_reader) {
  auto supported = test.target->supported_ops();
  for (const auto& f : test.workload->ops()) {
    if (std::find(supported.begin(), supported.end(), f) == supported.end())
      workload_reader.fail_key("name", "workload '" + test.spec.workload + "' needs op '" + f +
                                           "', which target '" + test.spec.system +
                                           "' does not support (it supports: " +
                                           joined(supported) + ")");
  }
}

}  // namespace

Test load_test_text(const std::string& yaml, const std::string& file_name,
                    const SpecOverrides& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw SpecError(file_name, e.mark, "not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) throw SpecError(file_name, root.Mark(), "expected a mapping at the top level");

  Test test;
  Spec& spec = test.spec;
  spec.file = file_name;
  FieldReader top(root, file_name, "spec");
  spec.name = top.string("name");
  spec.time_limit_s = overrides.time_limit_s.value_or(top.number("time_limit_s", 60, 1, 86400));
  spec.check_time_limit_s = top.number("check_time_limit_s", 300, 0, 86400);
  if (overrides.seed) {
    spec.seed = *overrides.seed;
    top.raw("seed");
  } else if (top.has("seed")) {
    spec.seed = static_cast<std::uint64_t>(top.integer("seed", std::nullopt, 0, INT64_MAX));
  } else {
    top.raw("seed");
    spec.seed = std::random_device{}() & 0xffffffffu;  // printed and saved: reproducible
  }

  FieldReader target(top.mapping("target", true), file_name, "target");
  spec.system = target.choice("system", TargetRegistry::names());
  spec.nodes = static_cast<int>(target.integer("nodes", 5, 1, 9));
  if (overrides.nodes) {
    if (*overrides.nodes < 1 || *overrides.nodes > 9)
      throw SpecError(file_name, YAML::Mark::null_mark(), "--nodes: expected 1 to 9");
    spec.nodes = *overrides.nodes;
  }
  test.target = (*TargetRegistry::find(spec.system))(target, spec.nodes);
  target.finish();

  FieldReader workload(top.mapping("workload", true), file_name, "workload");
  spec.workload = workload.choice("name", WorkloadRegistry::names());
  test.workload = (*WorkloadRegistry::find(spec.workload))(workload);
  workload.finish();
  check_ops_supported(test, workload);

  FieldReader clients(top.mapping("clients", false), file_name, "clients");
  spec.concurrency = static_cast<int>(clients.integer("concurrency", 10, 1, 1000));
  if (overrides.concurrency) spec.concurrency = *overrides.concurrency;
  spec.rate_per_s = clients.number("rate_per_s", 200, 0.1, 1e6);
  spec.timeout_ms = static_cast<int>(clients.integer("timeout_ms", 1000, 10, 600000));
  clients.finish();

  FieldReader nemesis(top.mapping("nemesis", false), file_name, "nemesis");
  spec.faults = nemesis.strings("faults", std::vector<std::string>{});
  spec.interval_s = nemesis.number("interval_s", 10, 0.1, 3600);
  YAML::Node nemesis_resolved = YAML::Clone(nemesis.resolved());
  for (const auto& fault : spec.faults) {
    if (!NemesisRegistry::find(fault))
      nemesis.fail_key("faults", "unknown fault '" + fault + "' (known: " +
                                     joined(NemesisRegistry::names()) + ")");
    FieldReader options(nemesis.mapping(fault, false), file_name, "nemesis." + fault);
    test.nemeses.emplace_back(fault, (*NemesisRegistry::find(fault))(options));
    options.finish();
    nemesis_resolved[fault] = YAML::Clone(options.resolved());
  }
  nemesis.finish();
  top.finish();

  YAML::Node resolved = YAML::Clone(top.resolved());
  resolved["seed"] = spec.seed;
  resolved["time_limit_s"] = spec.time_limit_s;  // command-line overrides included
  resolved["target"] = YAML::Clone(target.resolved());
  resolved["target"]["nodes"] = spec.nodes;
  resolved["workload"] = YAML::Clone(workload.resolved());
  resolved["clients"] = YAML::Clone(clients.resolved());
  resolved["clients"]["concurrency"] = spec.concurrency;
  resolved["nemesis"] = nemesis_resolved;
  test.resolved = resolved;
  return test;
}

Test load_test(const std::filesystem::path& file, const SpecOverrides& overrides) {
  std::ifstream in(file);
  if (!in) throw SpecError(file.string(), YAML::Mark::null_mark(), "cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return load_test_text(text.str(), file.string(), overrides);
}

}  // namespace faultline
