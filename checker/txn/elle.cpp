#include "checker/txn/elle.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <stdexcept>

#include "checker/txn/cycles.h"
#include "checker/txn/inference.h"
#include "checker/txn/models.h"
#include "checker/txn/version_order.h"

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
  return f;
}

void note_unfinished(const std::vector<std::string>& unfinished, Findings& f) {
  if (unfinished.empty()) return;
  f.types.insert("cycle-search-timeout");
  f.anomalies["cycle-search-timeout"] = json::array(
      {{{"unfinished", unfinished},
        {"explanation", "the cycle search ran out of its time budget before deciding " +
                            join(unfinished, ", ")}}});
}

// The version-order searches, strongest first: each claim's anomaly (models.cpp), its cycle rule
// and the session edges it counts.
struct OrderClaim {
  const char* anomaly;
  CycleRule rule;
  std::uint8_t sessions;
};
constexpr OrderClaim kOrderClaims[] = {
    {"forced-cycle-realtime", CycleRule::any, kProcess | kRealtime},
    {"forced-cycle-process", CycleRule::any, kProcess},
    {"forced-SI-cycle-realtime", CycleRule::snapshot, kProcess | kRealtime},
    {"forced-cycle", CycleRule::any, 0},
    {"forced-SI-cycle-process", CycleRule::snapshot, kProcess},
    {"forced-SI-cycle", CycleRule::snapshot, 0},
};
constexpr std::size_t kOrderClaimCount = std::size(kOrderClaims);

// Some order satisfying a also satisfies b: b's rule is no stricter, its sessions no more.
bool satisfies(const OrderClaim& a, const OrderClaim& b) {
  return (a.rule == CycleRule::any || b.rule == CycleRule::snapshot) && (b.sessions & ~a.sessions) == 0;
}

// The key two txns' micro-ops share (a writes or reads it, b writes it), for explanations.
std::string shared_key(const TxnHistory& h, std::uint32_t a, std::uint32_t b) {
  for (const Mop& ma : h.mops_of(a))
    for (const Mop& mb : h.mops_of(b))
      if (ma.key == mb.key && mb.kind == MopKind::write) return h.key_names[ma.key];
  return "?";
}

json explain_ordered_cycle(const TxnHistory& h, const Inference& inf, const OrderedCycle& cycle) {
  json indexes = json::array(), kinds = json::array(), steps = json::array();
  for (std::size_t i = 0; i < cycle.steps.size(); ++i) {
    const CycleStep& s = cycle.steps[i];
    indexes.push_back(h.txns[s.from].index);
    kinds.push_back(edge_name(s.kind));
    std::string why;
    if (!cycle.assumed[i]) {
      why = (s.kind & kDataEdges) ? inf.explain(s.from, s.to, s.kind) : explain_session_edge(h, s.from, s.to, s.kind);
    } else if (s.kind == kWW) {
      why = "in this version order " + h.txn_name(s.to) + "'s write of " + shared_key(h, s.from, s.to) +
            " follows " + h.txn_name(s.from) + "'s";
    } else {
      why = "in this version order " + h.txn_name(s.to) + "'s write of " + shared_key(h, s.from, s.to) +
            " follows the version " + h.txn_name(s.from) + " read";
    }
    steps.push_back(h.txn_name(s.from) + " < " + h.txn_name(s.to) + " because " + why);
  }
  indexes.push_back(h.txns[cycle.steps.front().from].index);
  return {{"cycle", indexes}, {"edges", kinds}, {"steps", steps}};
}

// rw-register: for each claim still standing, whether some order of the writes the reads leave
// unordered avoids every cycle it forbids. A claim no order satisfies is a forced-* anomaly;
// one whose search ran out of budget is unfinished. Stronger claims are searched first: an
// order that satisfies one satisfies every weaker one.
void decide_version_orders(const TxnHistory& h, const Inference& inf, const Graph& graph,
                           const Deadline& deadline, Findings& f,
                           std::vector<std::string>& unfinished) {
  enum class State { open, satisfied, violated, budget };
  State state[kOrderClaimCount] = {};
  auto standing = [&](const char* anomaly) {  // some model forbids it and is not yet ruled out
    for (const std::string& m : model_names()) {
      auto forbidden = forbidden_anomalies(m);
      if (!forbidden.count(anomaly)) continue;
      if (std::none_of(f.types.begin(), f.types.end(), [&](auto& t) { return forbidden.count(t) > 0; }))
        return true;
    }
    return false;
  };
  auto found = [&](std::size_t i, json example) {
    f.types.insert(kOrderClaims[i].anomaly);
    f.counts[kOrderClaims[i].anomaly] = 1;
    f.anomalies[kOrderClaims[i].anomaly] = json::array({std::move(example)});
  };
  for (std::size_t i = 0; i < kOrderClaimCount; ++i) {
    if (state[i] != State::open || !standing(kOrderClaims[i].anomaly)) continue;
    if (deadline.expired()) {
      state[i] = State::budget;
      unfinished.push_back(kOrderClaims[i].anomaly);
      continue;
    }
    OrderSearch r = search_version_orders(h, graph, inf.versions,
                                          {kOrderClaims[i].rule, kOrderClaims[i].sessions}, deadline);
    if (r.outcome == OrderSearch::Outcome::budget) {
      state[i] = State::budget;
      unfinished.push_back(kOrderClaims[i].anomaly);
      continue;
    }
    if (r.outcome == OrderSearch::Outcome::satisfied) {
      for (std::size_t j = 0; j < kOrderClaimCount; ++j)
        if (state[j] == State::open && satisfies(kOrderClaims[i], kOrderClaims[j])) state[j] = State::satisfied;
      continue;
    }
    json example = r.cycles.empty() ? json::object() : explain_ordered_cycle(h, inf, r.cycles.front());
    json others = json::array();
    for (std::size_t c = 1; c < r.cycles.size(); ++c) others.push_back(explain_ordered_cycle(h, inf, r.cycles[c]));
    example["other_cycles"] = others;
    example["forced_orders"] = r.forced_pairs;
    example["open_orders"] = r.open_pairs;
    example["cycle_constraints"] = r.cycle_clauses;
    example["explanation"] =
        "no version order of the writes avoids such a cycle: of " + std::to_string(r.open_pairs) +
        " write pairs the reads leave unordered (" + std::to_string(r.forced_pairs) +
        " ordered by known edges and sessions), every choice closes one of " +
        std::to_string(r.cycle_clauses) + " cycles found; the cycle shown is one of them";
    state[i] = State::violated;
    found(i, std::move(example));
    for (std::size_t j = 0; j < kOrderClaimCount; ++j)
      if (state[j] == State::open && satisfies(kOrderClaims[j], kOrderClaims[i])) {
        state[j] = State::violated;
        found(j, {{"explanation", std::string("follows from ") + kOrderClaims[i].anomaly +
                                      ": every version order has a cycle that it forbids too"}});
      }
  }
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

namespace {

void require_model(const TxnOptions& options) {
  if (!is_model(options.claim))
    throw std::invalid_argument("unknown consistency model \"" + options.claim + "\"; known: " +
                                join(model_names(), ", "));
}

// `start`: when reading began, so check_time_s includes compiling the history.
CheckResult check_compiled(TxnHistory h, const TxnOptions& options,
                           std::chrono::steady_clock::time_point start) {
  Workload workload = h.workload;
  Inference inf = workload == Workload::list_append ? infer_list_append(h)
                                                    : infer_rw_register(h, options.initial_value);
  add_session_edges(h, inf.in_graph, inf.edges);
  const std::size_t edge_count = inf.edges.size();
  Graph graph(static_cast<std::uint32_t>(h.txns.size()), inf.edges);
  inf.edges = {};  // the graph holds them now; at a million txns the copy is hundreds of MB

  auto realtime_before = [&h](std::uint32_t a, std::uint32_t b) {
    return h.txns[a].status == TxnStatus::ok &&
           h.txns[a].complete_position < h.txns[b].invoke_position;
  };
  Deadline deadline(options.time_limit_s);
  CycleSearch search = search_cycles(graph, deadline, realtime_before);
  Findings f = collect(h, inf, search);
  if (workload == Workload::rw_register) decide_version_orders(h, inf, graph, deadline, f, search.unfinished);
  note_unfinished(search.unfinished, f);

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
  result.anomalies = txn_anomalies(result.details["anomalies"], forbidden, h);
  result.check_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

CheckResult check_transactions(const History& history, const TxnOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Workload workload = parse_workload(options.workload);
  require_model(options);
  return check_compiled(compile(history, workload), options, start);
}

std::optional<CheckResult> check_transactions_file(const std::filesystem::path& path,
                                                   const TxnOptions& options,
                                                   std::size_t& torn_line) {
  Workload workload = parse_workload(options.workload);
  require_model(options);
  std::optional<FileText> text(std::in_place, path);
  auto start = std::chrono::steady_clock::now();
  TxnCompiler compiler(workload, path.string());
  compiler.reserve(estimated_ops(text->view()));
  torn_line = for_each_op_parsed(text->view(), path.string(),
                                 [&](Op&& op, const OpPosition& at, ParsedValue value) {
                                   compiler.add(std::move(op), at, value);
                                 });
  if (!compiler.has_client_ops()) return std::nullopt;
  TxnHistory compiled = compiler.finish();  // reads lines of `text` again
  text.reset();                             // the compact form is all the check needs
  return check_compiled(std::move(compiled), options, start);
}

}  // namespace faultline::checker
