#include "harness/spec.h"

#include <arpa/inet.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "core/store.h"
#include "core/text.h"

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

// Builds a fault's nemesis from its options. A target without the needed ability is an error at
// `where` (the fault's name in the spec), or, where the spec opts in (nemesis.unsupported: skip),
// a fault left out and said in the report: nullptr, with the reason in test.skipped.
std::unique_ptr<Nemesis> build_nemesis(Test& test, const std::string& fault, FieldReader& options,
                                       const NemesisEnv& env, FieldReader& where,
                                       const YAML::Node& at) {
  try {
    if (std::string why = env.target.unable(fault); !why.empty())
      throw NemesisUnsupported("fault '" + fault + "' " + why);
    return (*NemesisRegistry::find(fault))(options, env);
  } catch (const NemesisUnsupported& e) {
    if (!test.skip_unsupported) where.fail(at, e.what());
    test.skipped[fault] = std::string("skipped (nemesis.unsupported: skip): ") + e.what();
    return nullptr;
  }
}

// nemesis.timeline: [{at_s, fault, duration_s?, ...the fault's options}, ...]. Two entries of
// the same fault may not overlap in time: a fault holds one state at a time.
void read_timeline(Test& test, FieldReader& nemesis, const NemesisEnv& env, YAML::Node& resolved) {
  YAML::Node list = nemesis.raw("timeline");
  if (!list.IsSequence() || list.size() == 0)
    nemesis.fail(list, "nemesis.timeline: expected a list of {at_s, fault, duration_s, ...}");
  const std::string& file = nemesis.file();
  resolved["timeline"] = YAML::Node(YAML::NodeType::Sequence);
  std::vector<YAML::Mark> marks;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string context = "nemesis.timeline[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) nemesis.fail(list[i], context + ": expected a mapping {at_s, fault, ...}");
    FieldReader entry(list[i], file, context);
    TimelineEntry step;
    step.at_s = entry.number("at_s", std::nullopt, 0, 86400);
    std::string fault = entry.choice("fault", NemesisRegistry::names());
    if (entry.has("duration_s")) step.duration_s = entry.number("duration_s", std::nullopt, 0.01, 86400);
    auto built = build_nemesis(test, fault, entry, env, entry, list[i]["fault"]);
    entry.finish();
    if (!built) continue;
    for (std::size_t j = 0; j < test.timeline.size(); ++j) {
      const TimelineEntry& other = test.timeline[j];
      if (test.nemeses[other.nemesis].first != fault) continue;
      double other_end = other.duration_s ? other.at_s + *other.duration_s : 1e18;
      double end = step.duration_s ? step.at_s + *step.duration_s : 1e18;
      if (step.at_s < other_end && other.at_s < end)
        throw SpecError(file, list[i]["at_s"].Mark(),
                        context + ": overlaps the " + fault + " at line " +
                            std::to_string(marks[j].line + 1) +
                            "; one fault holds one state at a time (name several nodes instead)");
    }
    marks.push_back(list[i].Mark());
    step.nemesis = test.nemeses.size();
    test.nemeses.emplace_back(fault, std::move(built));
    test.timeline.push_back(step);
    resolved["timeline"].push_back(YAML::Clone(entry.resolved()));
  }
}

// target.cluster: {hosts: [ADDRESS | {name, address}, ...], user, port, identity_file,
// known_hosts_file, host_keys: strict | accept-new, sudo}.
SshClusterSpec read_cluster(FieldReader& target) {
  FieldReader cluster(target.mapping("cluster", true), target.file(), "target.cluster");
  SshClusterSpec spec;
  YAML::Node hosts = cluster.raw("hosts");
  if (!hosts.IsSequence() || hosts.size() == 0 || hosts.size() > 9)
    cluster.fail_key("hosts", "expected a list of 1 to 9 hosts (ADDRESS or {name, address})");
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::string context = "target.cluster.hosts[" + std::to_string(i) + "]";
    SshHost host;
    if (hosts[i].IsScalar()) {
      host.address = host.name = hosts[i].as<std::string>();
    } else {
      if (!hosts[i].IsMap()) cluster.fail(hosts[i], context + ": expected ADDRESS or {name, address}");
      FieldReader entry(hosts[i], target.file(), context);
      host.address = entry.string("address");
      host.name = entry.string("name", host.address);
      entry.finish();
    }
    in_addr parsed{};
    if (::inet_pton(AF_INET, host.address.c_str(), &parsed) != 1)
      cluster.fail(hosts[i], context + ": '" + host.address +
                                 "' is not an IPv4 address (partitions name hosts by address)");
    spec.hosts.push_back(host);
  }
  SshLogin& login = spec.login;
  login.user = cluster.string("user", "");
  login.port = static_cast<int>(cluster.integer("port", 22, 1, 65535));
  login.identity_file = cluster.string("identity_file", "");
  login.known_hosts_file = cluster.string("known_hosts_file", "");
  login.host_keys = cluster.choice("host_keys", {"strict", "accept-new"}, "strict") == "accept-new"
                        ? HostKeyPolicy::accept_new
                        : HostKeyPolicy::strict;
  login.sudo = cluster.boolean("sudo", false);
  cluster.finish();
  return spec;
}

}  // namespace

std::vector<std::string> node_names(int node_count) {
  std::vector<std::string> names;
  for (int i = 0; i < node_count; ++i) names.push_back("n" + std::to_string(i + 1));
  return names;
}

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
  if (std::string problem = run_name_problem(spec.name); !problem.empty())
    top.fail_key("name", "'" + printable(spec.name) + "': " + problem);
  spec.time_limit_s = top.number("time_limit_s", 60, 1, 86400);
  if (overrides.time_limit_s) {
    if (!std::isfinite(*overrides.time_limit_s) || *overrides.time_limit_s < 1 ||
        *overrides.time_limit_s > 86400)
      throw SpecError(file_name, YAML::Mark::null_mark(), "--time-limit: expected 1 to 86400 seconds");
    spec.time_limit_s = *overrides.time_limit_s;
  }
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

  YAML::Node target_given = top.mapping("target", true);
  FieldReader target(target_given, file_name, "target");
  spec.system = target.choice("system", TargetRegistry::names());
  if (target.has("cluster")) {
    spec.remote = read_cluster(target);
    int hosts = static_cast<int>(spec.remote->hosts.size());
    if (target.has("nodes") && target.integer("nodes", std::nullopt, 1, 9) != hosts)
      target.fail_key("nodes", "the cluster lists " + std::to_string(hosts) +
                                   " hosts: give no nodes, or that many");
    if (overrides.node_count && *overrides.node_count != hosts)
      throw SpecError(file_name, YAML::Mark::null_mark(),
                      "--nodes: the spec's cluster lists " + std::to_string(hosts) + " hosts");
    spec.node_count = hosts;
  } else {
    spec.node_count = static_cast<int>(target.integer("nodes", 5, 1, 9));
  }
  if (overrides.node_count && !spec.remote) {
    if (*overrides.node_count < 1 || *overrides.node_count > 9)
      throw SpecError(file_name, YAML::Mark::null_mark(), "--nodes: expected 1 to 9");
    spec.node_count = *overrides.node_count;
  }
  test.target = (*TargetRegistry::find(spec.system))(target, spec.node_count);
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
  spec.routing = clients.choice("routing", {"sticky", "per-op"}, "sticky") == "per-op"
                     ? Routing::per_op
                     : Routing::sticky;
  clients.finish();

  FieldReader nemesis(top.mapping("nemesis", false), file_name, "nemesis");
  NemesisEnv env{*test.target, node_names(spec.node_count), spec.remote.has_value()};
  YAML::Node nemesis_resolved;
  test.skip_unsupported = nemesis.choice("unsupported", {"error", "skip"}, "error") == "skip";
  if (nemesis.has("timeline")) {
    if (nemesis.has("faults"))
      nemesis.fail_key("timeline", "give either faults (random) or a timeline, not both");
    read_timeline(test, nemesis, env, nemesis_resolved);
  } else {
    spec.faults = nemesis.strings("faults", std::vector<std::string>{});
    spec.interval_s = nemesis.number("interval_s", 10, 0.1, 3600);
    nemesis_resolved = YAML::Clone(nemesis.resolved());
    for (const auto& fault : spec.faults) {
      if (!NemesisRegistry::find(fault))
        nemesis.fail_key("faults", "unknown fault '" + printable(fault) + "' (known: " +
                                       joined(NemesisRegistry::names()) + ")");
      FieldReader options(nemesis.mapping(fault, false), file_name, "nemesis." + fault);
      YAML::Node at = top.mapping("nemesis", false)["faults"];
      if (auto built = build_nemesis(test, fault, options, env, nemesis, at))
        test.nemeses.emplace_back(fault, std::move(built));
      options.finish();
      nemesis_resolved[fault] = YAML::Clone(options.resolved());
    }
  }
  nemesis.finish();
  top.finish();

  YAML::Node resolved = YAML::Clone(top.resolved());
  resolved["seed"] = spec.seed;
  resolved["time_limit_s"] = spec.time_limit_s;  // command-line overrides included
  // The target as given, with the defaults its reader filled in: the parts a target reads with
  // readers of its own (a declared target's servers and client, a cluster's hosts) are kept too.
  resolved["target"] = YAML::Clone(target_given);
  for (const auto& entry : target.resolved())
    resolved["target"][entry.first.Scalar()] = YAML::Clone(entry.second);
  resolved["target"]["nodes"] = spec.node_count;
  resolved["workload"] = YAML::Clone(workload.resolved());
  resolved["clients"] = YAML::Clone(clients.resolved());
  resolved["clients"]["concurrency"] = spec.concurrency;
  resolved["nemesis"] = nemesis_resolved;
  test.resolved = resolved;
  return test;
}

nlohmann::json limitations(const Test& test) {
  nlohmann::json all = test.target->limitations();
  for (const auto& [fault, why] : test.skipped) all[fault] = why;
  return all;
}

report::RunRecord run_record(const Test& test) {
  const Spec& spec = test.spec;
  report::RunRecord r;
  r.name = spec.name;
  r.spec_file = spec.file.string();
  r.seed = spec.seed;
  r.system = spec.system;
  r.node_names = node_names(spec.node_count);
  r.workload = spec.workload;
  r.guarantee = test.workload->guarantee();
  r.concurrency = spec.concurrency;
  r.rate_per_s = spec.rate_per_s;
  r.timeout_ms = spec.timeout_ms;
  r.time_limit_s = spec.time_limit_s;
  r.interval_s = spec.interval_s;
  r.faults = spec.faults;
  for (const TimelineEntry& e : test.timeline)
    r.timeline.push_back({test.nemeses[e.nemesis].first, e.at_s, e.duration_s});
  r.fault_vocabulary = NemesisRegistry::names();
  r.limitations = limitations(test);
  return r;
}

Test load_test(const std::filesystem::path& file, const SpecOverrides& overrides) {
  std::ifstream in(file);
  if (!in) throw SpecError(file.string(), YAML::Mark::null_mark(), "cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return load_test_text(text.str(), file.string(), overrides);
}

}  // namespace faultline
