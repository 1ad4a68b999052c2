#include "checker/txn/elle.h"

#include <chrono>
#include <stdexcept>

#include "checker/txn/cycles.h"
#include "checker/txn/inference.h"
#include "checker/txn/models.h"

namespace faultline::checker {

using nlohmann::json;
using namespace txn;

namespace {

constexpr std::size_t kCyclesShownMax = 8;     // per anomaly type
constexpr std::size_t kWarningsShownMax = 8;

Workload parse_workload(const std::string& name) {
  if (name == "list-append") return Workload::list_append;
  if (name == "rw-register") return Workload::rw_register;
  throw std::invalid_argument("unknown transactional workload \"" + name +
                              "\" (list-append or rw-register)");
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

json json_list(const auto& strings) { return json(std::vector<std::string>(strings.begin(), strings.end())); }

// "T1 < T2 because T2 read T1's append of 3 to x", one per step, then "a cycle".
json explain_cycle(const TxnHistory& h, const Inference& inf, const FoundCycle& cycle) {
  json indexes = json::array(), kinds = json::array(), steps = json::array();
  for (const CycleStep& s : cycle.steps) {
    indexes.push_back(h.txns[s.from].index);
    kinds.push_back(edge_name(s.kind));
    std::string why = (s.kind & kDataEdges) ? inf.explain(s.from, s.to, s.kind)
                                            : explain_session_edge(h, s.from, s.to, s.kind);
    steps.push_back(h.txn_name(s.from) + " < " + h.txn_name(s.to) + " because " + why);
  }
  indexes.push_back(h.txns[cycle.steps.front().from].index);
  return {{"cycle", indexes}, {"edges", kinds}, {"steps", steps}};
}

struct Findings {
  json anomalies = json::object();
  json counts = json::object();
  std::set<std::string> types;
};

Findings collect(const TxnHistory& h, const Inference& inf, const CycleSearch& search) {
  Findings f;
  for (const auto& [type, examples] : inf.anomalies.examples()) f.anomalies[type] = examples;
  for (const auto& [type, count] : inf.anomalies.counts()) {
    f.counts[type] = count;
    f.types.insert(type);
  }
  for (const FoundCycle& c : search.cycles) {
    f.types.insert(c.anomaly);
    std::size_t count = f.counts.value(c.anomaly, std::size_t{0}) + 1;
    f.counts[c.anomaly] = count;
    if (count <= kCyclesShownMax) f.anomalies[c.anomaly].push_back(explain_cycle(h, inf, c));
  }
  if (!search.unfinished.empty()) {
    f.types.insert("cycle-search-timeout");
    f.anomalies["cycle-search-timeout"] = json::array(
        {{{"unfinished", search.unfinished},
          {"explanation", "the cycle search ran out of its time budget before deciding " +
                              join(search.unfinished, ", ")}}});
  }
  return f;
}

// The first explanation of the first forbidden anomaly, for the one-paragraph summary.
std::string first_explanation(const json& cases) {
  const json& first = cases.at(0);
  if (first.contains("steps")) {
    constexpr std::size_t kStepsShown = 6;
    std::vector<std::string> steps = first["steps"];
    std::size_t hidden = steps.size() > kStepsShown ? steps.size() - kStepsShown : 0;
    steps.resize(steps.size() - hidden);
    if (hidden) steps.push_back("… " + std::to_string(hidden) + " more steps (see details)");
    return join(steps, "; ") + ": a cycle";
  }
  return first.value("explanation", "");
}

std::string summarize(const TxnOptions& options, Verdict verdict, const Findings& f,
                      const std::vector<std::string>& violated, const ModelBoundary& b,
                      const std::vector<std::string>& undecided, std::size_t txns) {
  std::string head = options.claim + ": " + std::string(to_string(verdict));
  // Say what still holds too: "invalid for repeatable-read, consistent with snapshot-isolation".
  std::string holds = b.strongest_holding.empty()
                          ? std::string(" No model checked holds.")
                          : " Consistent with: " + join(b.strongest_holding, ", ") + ".";
  if (verdict == Verdict::invalid)
    return head + ": found " + join(violated, ", ") + ". " + violated.front() + ": " +
           first_explanation(f.anomalies[violated.front()]) + "." + holds;
  if (verdict == Verdict::unknown)
    return head + ": the cycle search ran out of time before deciding " + join(undecided, ", ") +
           " in " + std::to_string(txns) + " txns.";
  return head + ": no anomaly it forbids in " + std::to_string(txns) +
         " txns; strongest models that hold: " + join(b.strongest_holding, ", ") + ".";
}

}  // namespace

std::vector<std::string> txn_model_names() { return model_names(); }

CheckResult check_transactions(const History& history, const TxnOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Workload workload = parse_workload(options.workload);
  if (!is_model(options.claim))
    throw std::invalid_argument("unknown consistency model \"" + options.claim + "\"; known: " +
                                join(model_names(), ", "));
  TxnHistory h = compile(history, workload);
  Inference inf = workload == Workload::list_append ? infer_list_append(h) : infer_rw_register(h);
  add_session_edges(h, inf.in_graph, inf.edges);
  const std::size_t edge_count = inf.edges.size();
  Graph graph(static_cast<std::uint32_t>(h.txns.size()), inf.edges);
  inf.edges = {};  // the graph holds them now; at a million txns the copy is hundreds of MB

  auto realtime_before = [&h](std::uint32_t a, std::uint32_t b) {
    return h.txns[a].status == TxnStatus::ok &&
           h.txns[a].complete_position < h.txns[b].invoke_position;
  };
  CycleSearch search = search_cycles(graph, Deadline(options.time_limit_s), realtime_before);
  Findings f = collect(h, inf, search);

  std::set<std::string> forbidden = forbidden_anomalies(options.claim);
  std::vector<std::string> violated, undecided;
  for (const std::string& t : f.types)
    if (forbidden.count(t)) violated.push_back(t);
  for (const std::string& t : search.unfinished)
    if (forbidden.count(t)) undecided.push_back(t);
  Verdict verdict = !violated.empty()    ? Verdict::invalid
                    : !undecided.empty() ? Verdict::unknown
                                         : Verdict::valid;
  ModelBoundary boundary = model_boundary(
      f.types, std::set<std::string>(search.unfinished.begin(), search.unfinished.end()));

  std::size_t counts[3] = {0, 0, 0}, in_graph = 0;
  for (std::uint32_t t = 0; t < h.txns.size(); ++t) {
    ++counts[static_cast<int>(h.txns[t].status)];
    in_graph += inf.in_graph[t];
  }
  CheckResult result;
  result.checker = "elle-" + options.workload;
  result.model = options.claim;
  result.verdict = verdict;
  result.summary = summarize(options, verdict, f, violated, boundary, undecided, h.txns.size());
  json warnings = json::array();
  for (std::size_t i = 0; i < inf.warnings.size() && i < kWarningsShownMax; ++i)
    warnings.push_back(inf.warnings[i]);
  result.details = {
      {"workload", options.workload},
      {"claim", options.claim},
      {"txns", {{"ok", counts[0]}, {"info", counts[1]}, {"fail", counts[2]}, {"in_graph", in_graph}}},
      {"edges", edge_count},
      {"components", {{"count", search.component_count}, {"largest", search.largest_component}}},
      {"anomaly_types", json_list(f.types)},
      {"anomaly_counts", f.counts},
      {"anomalies", f.anomalies},
      {"forbidden_found", violated},
      {"not", boundary.ruled_out_weakest},
      {"also_not", boundary.ruled_out_others},
      {"strongest_satisfied", boundary.strongest_holding},
      {"undecided", boundary.undecided},
      {"unfinished_searches", search.unfinished},
      {"warning_count", inf.warnings.size()},
      {"warnings", warnings},
  };
  result.anomalies = txn_anomalies(result.details["anomalies"], forbidden, history);
  result.check_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace faultline::checker
