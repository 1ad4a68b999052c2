#include "reports/analysis.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/stats.h"
#include "reports/format.h"

namespace faultline::report {
namespace {

using nlohmann::json;


std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string value_text(const json& value) {
  if (value.is_null()) return "nil";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::string count_of(std::int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// Where the node was during a partition: "n3 could not reach n1, n2 (minority side, 1 of 3)".
std::string partition_side(const FaultWindow& window, const std::string& node, int node_count) {
  const json& grudge = window.what.is_object() ? window.what.value("grudge", json()) : json();
  if (!grudge.is_object() || !grudge.contains(node)) return "";
  std::vector<std::string> cut;
  for (const auto& other : grudge[node]) cut.push_back(value_text(other));
  if (cut.empty()) return node + " could reach every node";
  int reachable = node_count - static_cast<int>(cut.size());
  std::string side = node_count > 0 && 2 * reachable <= node_count ? "minority side" : "majority side";
  return node + " could not reach " + join(cut, ", ") + " (" + side + ", " +
         std::to_string(reachable) + " of " + std::to_string(node_count) + " nodes)";
}

class AnomalyCollector {
 public:
  AnomalyCollector(const json& results, const History& history,
                   const std::vector<FaultWindow>& windows)
      : results_(results), windows_(windows), spans_(op_spans(history)) {
    for (std::size_t i = 0; i < spans_.size(); ++i) by_index_[spans_[i].index] = i;
    for (const auto& pair : pair_ops(history, kInMemoryHistory))
      if (pair.completion)
        completion_to_invoke_[history[*pair.completion].index] = history[pair.invoke].index;
  }

  std::vector<Anomaly> collect() {
    for (const auto& check : checks_of(results_))
      for (const auto& found : check.anomalies) add(check.checker, found);
    return std::move(anomalies_);
  }

  std::vector<Anomaly> collect_counterexamples() {
    for (const auto& check : checks_of(results_))
      if (check.details.contains("counterexample"))
        add_counterexample(check.checker, check.details["counterexample"]);
    return std::move(anomalies_);
  }

 private:
  // The invocation index of an op given by either of its entries' indexes; -1 if unknown.
  std::int64_t invocation_of(std::int64_t index) const {
    if (by_index_.contains(index)) return index;
    auto it = completion_to_invoke_.find(index);
    return it == completion_to_invoke_.end() ? -1 : it->second;
  }

  void sort_ops(Anomaly& a) const {
    std::sort(a.ops.begin(), a.ops.end(), [&](std::int64_t x, std::int64_t y) {
      return spans_[by_index_.at(x)].invoke_ns < spans_[by_index_.at(y)].invoke_ns;
    });
  }

  // The fault in force when the focus op ran, and which side its node was on.
  std::string context_of(std::int64_t focus, const std::string& name = "") const {
    if (!by_index_.contains(focus)) return "";
    const OpSpan& op = spans_[by_index_.at(focus)];
    std::string who =
        name.empty() ? "Op " + std::to_string(focus) : name + " (op " + std::to_string(focus) + ")";
    std::int64_t end = op.complete_ns >= 0 ? op.complete_ns : op.invoke_ns;
    const FaultWindow* w = window_at(windows_, op.invoke_ns);
    if (w == nullptr) w = window_at(windows_, end);
    std::string where = op.node.empty() ? "" : " on node " + op.node;
    if (w == nullptr)
      return who + " ran" + where + " at " + format_s(op.invoke_ns) + ", with no fault in force.";
    std::string text = who + " ran" + where + " at " + format_s(op.invoke_ns) + ", during " +
                       w->fault + " \"" + w->description() + "\" (" + format_s(w->start_ns) + "–" +
                       format_s(w->end_ns) + ")";
    std::string side = partition_side(*w, op.node, results_["target"].value("nodes", 0));
    return text + (side.empty() ? "." : ": " + side + ".");
  }

  // "The last ops the checker could order before it: ..." with their labels and times.
  std::string preceding_sentence(const std::vector<std::int64_t>& preceding) const {
    std::vector<std::string> before;
    for (std::int64_t index : preceding) {
      if (!by_index_.contains(index)) continue;
      const OpSpan& s = spans_[by_index_.at(index)];
      before.push_back(s.label() + " (op " + std::to_string(index) + ", process " +
                       std::to_string(s.process) + ", " +
                       (s.complete_ns >= 0 ? "done at " + format_s(s.complete_ns)
                                           : std::string("never done")) +
                       ")");
    }
    if (before.empty()) return "";
    return "The last ops the checker could order before it: " + join(before, "; ") + ".";
  }

  // The checker's anomaly, with what only the whole run knows: op labels and the fault in force.
  void add(const std::string& checker, const checker::Anomaly& found) {
    Anomaly a;
    a.checker = checker;
    a.type = found.kind;
    a.key = found.keys.empty() ? "" : found.keys.front();
    a.headline = found.headline;
    a.sentences = found.explanation;
    for (std::int64_t op : found.ops)
      if (std::int64_t i = invocation_of(op); i >= 0 && std::find(a.ops.begin(), a.ops.end(), i) == a.ops.end())
        a.ops.push_back(i);
    a.focus = found.focus >= 0 ? invocation_of(found.focus) : -1;
    a.names = found.names;
    if (std::string before = preceding_sentence(found.preceding); !before.empty())
      a.sentences.push_back(before);
    // No focus (a cycle has no single culprit): the context is the first op's.
    if (a.focus >= 0)
      a.context = context_of(a.focus, a.names.contains(a.focus) ? a.names[a.focus] : "");
    else if (!a.ops.empty())
      a.context = context_of(a.ops.front(), a.names[a.ops.front()]);
    if (!a.context.empty()) a.sentences.push_back(a.context);
    sort_ops(a);
    anomalies_.push_back(std::move(a));
  }

  // A shrunk sub-history (checker/linear/shrink.h): the few ops a reviewer reads first.
  void add_counterexample(const std::string& checker, const json& shrunk) {
    Anomaly a;
    a.checker = checker;
    a.type = "counterexample";
    a.key = shrunk.value("key", std::string());
    for (const auto& op : shrunk.value("ops", json::array()))
      if (op.is_number_integer() && by_index_.contains(op.get<std::int64_t>()))
        a.ops.push_back(op.get<std::int64_t>());
    a.focus = shrunk.value("focus", std::int64_t{-1});
    a.headline = "These " + std::to_string(a.ops.size()) + " ops of " +
                 std::to_string(shrunk.value("from_ops", 0)) + " show it";
    a.sentences.push_back(a.headline + ": on their own they are not linearizable, so the whole "
                          "history is not either.");
    if (shrunk.value("cut_ns", std::int64_t{-1}) >= 0)
      a.sentences.push_back("Ops still running when the ✗ op completed count as never done.");
    char took[128];
    std::snprintf(took, sizeof took, "Shrunk in %.2f s (%lld checks): ", shrunk.value("time_s", 0.0),
                  static_cast<long long>(shrunk.value("checks", 0)));
    a.sentences.push_back(took + shrunk.value("note", std::string()) + ".");
    if (a.focus >= 0) a.context = context_of(a.focus);
    if (!a.context.empty()) a.sentences.push_back(a.context);
    sort_ops(a);
    anomalies_.push_back(std::move(a));
  }

  const json& results_;
  const std::vector<FaultWindow>& windows_;
  std::vector<OpSpan> spans_;
  std::map<std::int64_t, std::size_t> by_index_;
  std::map<std::int64_t, std::int64_t> completion_to_invoke_;
  std::vector<Anomaly> anomalies_;
};

// What the run did not exercise: faults not injected, target limitations, unknown outcomes.
std::vector<NotExercised> not_exercised(const RunData& run, const Analysis& a) {
  std::vector<NotExercised> out;
  const json& limitations = run.results.value("limitations", json::object());
  RunRecord record = record_of(run);
  const std::vector<std::string>& vocabulary = record.fault_vocabulary;
  std::vector<std::string> asked = record.faults_asked();
  std::vector<std::string> not_asked, not_started;
  for (const auto& fault : vocabulary) {
    if (std::find(a.faults_injected.begin(), a.faults_injected.end(), fault) !=
        a.faults_injected.end())
      continue;
    bool in_spec = std::find(asked.begin(), asked.end(), fault) != asked.end();
    (in_spec ? not_started : not_asked).push_back(fault);
  }
  auto faults_named = [](const std::vector<std::string>& faults) {
    std::string text = faults.back();
    if (faults.size() > 1)
      text =
          join(std::vector<std::string>(faults.begin(), faults.end() - 1), ", ") + " and " + text;
    return text + " faults";
  };
  if (vocabulary.empty())
    out.push_back({"which faults the spec asked for",
                   "this results.json predates the recorded spec (schema 1); `faultline analyze` "
                   "records it"});
  if (!not_asked.empty())
    out.push_back({faults_named(not_asked), "not in the spec's nemesis faults"});
  if (!not_started.empty())
    out.push_back({faults_named(not_started),
                   "in the spec, but never started (the run ended first, or every start failed)"});
  for (const auto& [what, why] : limitations.items()) {
    bool is_fault = std::find(vocabulary.begin(), vocabulary.end(), what) != vocabulary.end();
    out.push_back({is_fault ? what + " faults on this target" : what, value_text(why)});
  }
  std::int64_t info = 0;
  std::map<std::string, std::int64_t> ok_by_f, all_by_f;
  for (const auto& s : a.spans) {
    info += s.outcome == OpType::info;
    ++all_by_f[s.f];
    ok_by_f[s.f] += s.outcome == OpType::ok;
  }
  if (info > 0)
    out.push_back({count_of(info, "op") + " with unknown outcome",
                   std::to_string(info - a.never_completed) +
                       " timed out or lost their connection, " + std::to_string(a.never_completed) +
                       " never completed; each may have taken effect at any later time, or never"});
  for (const auto& [f, n] : all_by_f)
    if (ok_by_f[f] == 0)
      out.push_back({"successful " + f + " ops",
                     "all " + count_of(n, "invocation") + " failed or timed out"});
  if (run.results.value("interrupted", false))
    out.push_back(
        {"the full schedule", "the run was interrupted (Ctrl-C or SIGTERM) before its time limit"});
  else if (!run_finished(run.results))
    out.push_back({"the full schedule", "the run did not finish (killed or crashed)"});
  if (std::size_t cut = run.results.value("history_cut_at_line", std::size_t{0}); cut > 0)
    out.push_back({"the end of the history",
                   "its last line (line " + std::to_string(cut) + ") was torn and dropped"});
  // What a checker knows its own run did not exercise (the transfer checker: a key forgotten
  // by the dedupe store, ...).
  for (const auto& c : run.results.value("checks", json::array()))
    for (const auto& n : c.value("details", json::object()).value("not_exercised", json::array()))
      if (n.is_object()) out.push_back({n.value("what", ""), n.value("why", "")});
  std::string recovery = run.results.value("recovery_problem", "");
  if (!recovery.empty())
    out.push_back({"recovery after healing", "the cluster did not recover: " + recovery});
  return out;
}

std::string strongest_model_answer(const json& results) {
  std::vector<std::string> parts;
  for (const auto& c : results.value("checks", json::array())) {
    std::string checker = c.value("checker", ""), model = c.value("model", "");
    std::string verdict = c.value("verdict", "unknown");
    const json& d = c.value("details", json::object());
    if (d.contains("strongest_satisfied")) {
      std::vector<std::string> held, ruled;
      for (const auto& m : d["strongest_satisfied"]) held.push_back(value_text(m));
      for (const auto& m : d.value("not", json::array())) ruled.push_back(value_text(m));
      parts.push_back("Transactions: " +
                      (held.empty() ? std::string("none of the models tested") : join(held, ", ")) +
                      (ruled.empty() ? "" : "; ruled out: " + join(ruled, ", ")) +
                      " (claim: " + model + ", " + verdict + ").");
    } else if (checker == "exactly-once-transfer") {
      std::string outcome =
          verdict == "valid"     ? "held: every transfer was applied at most once, every acknowledged one exactly once"
          : verdict == "invalid" ? "broken"
                                 : "undecided (" + c.value("summary", std::string()) + ")";
      parts.push_back("Exactly-once transfers (" + model + "): " + outcome + ". " +
                      (verdict == "unknown" ? "" : c.value("summary", std::string()) + ". ") +
                      d.value("dual", std::string()));
    } else if (checker == "linearizable") {
      if (verdict == "valid")
        parts.push_back(
            "Linearizable (" + model +
            ", every key) — the strongest single-object model; nothing stronger was tested.");
      else if (verdict == "invalid")
        parts.push_back(
            "Not linearizable (" + model + "): " +
            count_of(static_cast<std::int64_t>(d.value("invalid_keys", json::array()).size()),
                     "key") +
            " have no linearization. Only linearizability was tested, so whether a weaker model "
            "(sequential consistency, read-your-writes) holds is not established.");
      else
        parts.push_back(
            "Undecided: the linearizability search ran out of budget on some key; no model is "
            "established.");
    } else if (checker == "session") {
      if (verdict == "valid")
        parts.push_back("Session guarantees hold (read-your-writes, monotonic reads, monotonic "
                        "writes, writes-follow-reads, per process and key); linearizability was "
                        "not tested, and they are much weaker.");
      else if (verdict == "invalid")
        parts.push_back("Session guarantees broken: " +
                        count_of(d.value("cycles", std::int64_t{0}), "cycle") +
                        " of process order and reads-from that no order of a key's writes "
                        "explains, so nothing stronger (causal, sequential, linearizable) holds "
                        "either.");
      else
        parts.push_back("Undecided: some reads returned values no single write wrote, so the "
                        "session guarantees are not established.");
    } else if (checker == "timestamps") {
      if (verdict == "valid")
        parts.push_back("Server timestamps followed real-time order: every write that began "
                        "after another returned carried a later server time, so a "
                        "last-write-wins rule by these times would have lost no write in this "
                        "run. That holds only for the clocks this run had; it is no promise.");
      else if (verdict == "invalid")
        parts.push_back(
            "Server timestamps contradict happens-before: " +
            count_of(d.value("inverted_writes", std::int64_t{0}), "write") +
            " began after another write had returned, yet carry a server time at or before its "
            "(up to " + format_ms(d.value("max_inversion_us", std::int64_t{0}) * 1000) +
            "). A last-write-wins store ordering by these times would have silently dropped " +
            count_of(d.value("lww_lost", std::int64_t{0}), "write") +
            ", each the later of two writes to the same key. Order must come from "
            "happens-before (the harness clock, a version, a consensus log), not a node's clock.");
      else
        parts.push_back("Undecided: no inversion among the timed writes, but some writes timed "
                        "out, and they may have happened at a server time not known.");
    } else {
      parts.push_back(checker + " (" + model + "): " + verdict + ".");
    }
  }
  if (parts.empty()) return "No checker ran.";
  return join(parts, " ");
}

std::string per_s(double rate) {
  return std::to_string(static_cast<std::int64_t>(rate + 0.5)) + " ok ops/s";
}

std::string faults_answer(const Analysis& a) {
  if (a.faults_injected.empty())
    return "No fault was injected in this run: it says nothing about behaviour under faults.";
  const PhaseFigures& healthy = a.phases.front();
  std::vector<std::string> parts;
  for (const auto& fault : a.faults_injected) {
    const PhaseFigures& p = *find_phase(a, fault);
    double ratio = healthy.ok_per_s() > 0 ? p.ok_per_s() / healthy.ok_per_s() : 1;
    std::string availability = ratio < 0.5   ? "largely unavailable"
                               : ratio < 0.9 ? "partly unavailable"
                                             : "available";
    std::string text =
        "During " + count_of(p.windows, fault + " window") + " (" +
        format_s(static_cast<std::int64_t>(p.duration_s * 1e9)) + " in all) the system was " +
        availability + ": " + per_s(p.ok_per_s()) + " against " + per_s(healthy.ok_per_s()) +
        " when healthy; of the ops invoked, " + format_percent(p.ok_share()) + " ok (healthy " +
        format_percent(healthy.ok_share()) + "), " + format_percent(p.fail_share()) + " failed, " +
        format_percent(p.info_share()) + " timed out with unknown outcome; p99 latency " +
        format_ms(p.latency_ns_p99) + " (healthy " + format_ms(healthy.latency_ns_p99) + ").";
    if (const PhaseFigures* after = find_phase(a, "after " + fault)) {
      text += " In the " + format_s(kAfterHeal_ns) +
              " after each heal: " + per_s(after->ok_per_s()) + ", " +
              format_percent(after->info_share()) + " timed out, p99 " +
              format_ms(after->latency_ns_p99) + ".";
    }
    int anomalies_in = 0, resends = 0;
    for (const auto& an : a.anomalies)
      if (an.context.find("during " + fault + " ") != std::string::npos) {
        ++anomalies_in;
        resends += an.type == "double-applied";
      }
    if (resends > 0)
      text += " " + count_of(resends, "transfer") +
              " applied twice or more had an attempt inside these windows: its answer was lost "
              "there, the client sent it again, and the store applied it again.";
    if (anomalies_in > resends)
      text += " " + count_of(anomalies_in - resends, "anomaly") +
              " had its op inside these windows (each listed under anomalies with the fault "
              "in force and the node it ran on).";
    else if (anomalies_in == 0)
      text += " No anomaly fell in these windows.";
    parts.push_back(text);
  }
  return join(parts, " ");
}

std::string scope_answer(const RunData& run) {
  std::vector<std::string> parts;
  for (const auto& c : run.results.value("checks", json::array())) {
    std::string checker = c.value("checker", "");
    const json& d = c.value("details", json::object());
    if (checker == "linearizable") {
      std::string keys = d.contains("keys") ? count_of(d["keys"].get<std::int64_t>(), "key")
                                            : std::string("each key");
      parts.push_back(
          "Per key: " + keys +
          " checked one at a time. Linearizability is local, so per-key results compose to the "
          "whole key space for single-key ops; but no op touched two keys, so atomicity and "
          "ordering of multi-key operations (transactions) were not tested.");
    } else if (checker == "session") {
      parts.push_back(
          "Per process and key: each process's ops on one key against that key's writes; the "
          "version order is inferred only from what the guarantees themselves require (a "
          "process's own writes, what it read before writing), never from real time.");
    } else if (checker == "timestamps") {
      parts.push_back(
          "Across all writes: each pair where one returned before the other began (by the "
          "harness' monotonic clock) against the two server times; lost writes count only pairs "
          "on the same key. The store itself (Redis) does not order by these times: the loss is "
          "what a last-write-wins design using them would suffer.");
    } else if (checker == "exactly-once-transfer") {
      parts.push_back(
          "Across accounts, from the final state: each transfer changes two balances and writes "
          "its log row in one transaction, and the checker proves from one final snapshot "
          "(balances and the log) which transfers applied and how often. The order of transfers, "
          "and what concurrent transactions saw of each other, were not tested.");
    } else if (checker.rfind("elle", 0) == 0) {
      parts.push_back(
          "Across keys: transactions over several keys were checked for dependency cycles (ww, wr, "
          "rw, plus process and real-time order as the claim requires).");
    }
  }
  if (parts.empty()) return "No checker ran, so no ordering was tested.";
  return join(parts, " ");
}

std::string not_covered_answer(const Analysis& a) {
  std::vector<std::string> items;
  for (const auto& n : a.not_exercised) items.push_back(n.what + " (" + n.why + ")");
  if (items.empty()) return "Every fault kind faultline knows was injected and every op completed.";
  return join(items, "; ") + ".";
}

}  // namespace

RunData load_run(const std::filesystem::path& run_dir) {
  RunData run;
  run.dir = run_dir;
  run.spec_text = read_text(run_dir / "spec.yaml");
  std::string results = read_text(run_dir / "results.json");
  HistoryRead read;
  if (results.empty() && std::filesystem::exists(run_dir / "history.jsonl")) {
    // A run killed before its end-of-run record: what it recorded, graded unknown.
    read = read_history_file(run_dir / "history.jsonl");
    RunResults unfinished;
    unfinished.run = read_run_record(run_dir).value_or(RunRecord{});
    unfinished.stats = compute_stats(read.history);
    grade(unfinished, {}, {.finished = false, .history_cut_at_line = read.torn_line});
    run.results = to_json(unfinished);
    run.history = std::move(read.history);
    return run;
  }
  if (results.empty()) throw RunDirError("no results.json in " + run_dir.string());
  run.results = json::parse(results, nullptr, false);
  if (run.results.is_discarded())
    throw RunDirError("results.json in " + run_dir.string() + " is not JSON");
  run.history = read_history(run_dir / "history.jsonl");
  return run;
}

std::string FaultWindow::description() const {
  if (what.is_object() && what.contains("description")) return value_text(what["description"]);
  return fault;
}

std::vector<FaultWindow> fault_windows(const History& history) {
  std::vector<FaultWindow> windows;
  std::map<std::string, std::size_t> open;  // fault -> position in `windows`
  std::int64_t last_ns = 0;
  for (const auto& op : history) {
    last_ns = std::max(last_ns, op.time_ns);
    if (!op.is_nemesis() || op.type != OpType::info) continue;
    if (op.f.rfind("start-", 0) == 0 && op.error.empty()) {
      std::string fault = op.f.substr(6);
      if (open.contains(fault)) continue;  // already in force
      open[fault] = windows.size();
      windows.push_back({fault, op.time_ns, -1, false, op.value});
    } else if (op.f.rfind("stop-", 0) == 0) {
      auto it = open.find(op.f.substr(5));
      if (it == open.end()) continue;
      windows[it->second].end_ns = op.time_ns;
      windows[it->second].healed = true;
      open.erase(it);
    }
  }
  for (auto& w : windows)
    if (w.end_ns < 0) w.end_ns = last_ns;
  return windows;
}

const FaultWindow* window_at(const std::vector<FaultWindow>& windows, std::int64_t time_ns) {
  for (const auto& w : windows)
    if (time_ns >= w.start_ns && time_ns < w.end_ns) return &w;
  return nullptr;
}

const PhaseFigures* find_phase(const Analysis& a, const std::string& phase) {
  for (const auto& p : a.phases)
    if (p.phase == phase) return &p;
  return nullptr;
}

double PhaseFigures::ok_per_s() const {
  return duration_s > 0 ? static_cast<double>(ok) / duration_s : 0;
}
double PhaseFigures::ok_share() const {
  return total() == 0 ? 0 : static_cast<double>(ok) / static_cast<double>(total());
}
double PhaseFigures::fail_share() const {
  return total() == 0 ? 0 : static_cast<double>(fail) / static_cast<double>(total());
}
double PhaseFigures::info_share() const {
  return total() == 0 ? 0 : static_cast<double>(info) / static_cast<double>(total());
}

std::vector<PhaseFigures> phase_figures(const History& history,
                                        const std::vector<FaultWindow>& windows) {
  std::int64_t end_ns = 0;
  for (const auto& op : history) end_ns = std::max(end_ns, op.time_ns);
  // The intervals that are not healthy: each fault window, then the time right after its heal.
  struct Interval {
    std::int64_t from, to;
    std::string phase;
    bool counts_window;
  };
  std::vector<Interval> intervals;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const FaultWindow& w = windows[i];
    intervals.push_back({w.start_ns, w.end_ns, w.fault, true});
    if (!w.healed) continue;
    std::int64_t to = std::min(w.end_ns + kAfterHeal_ns, end_ns);
    // At most half the quiet time before the next fault, so that some of it stays healthy.
    for (const auto& next : windows)
      if (next.start_ns >= w.end_ns) to = std::min(to, w.end_ns + (next.start_ns - w.end_ns) / 2);
    if (to > w.end_ns) intervals.push_back({w.end_ns, to, "after " + w.fault, false});
  }
  std::vector<PhaseFigures> phases{{"healthy"}};
  std::map<std::string, std::size_t> position{{"healthy", 0}};
  std::int64_t unhealthy_ns = 0;
  for (const auto& interval : intervals) {
    auto [it, added] = position.emplace(interval.phase, phases.size());
    if (added) phases.push_back({interval.phase});
    phases[it->second].windows += interval.counts_window;
    phases[it->second].duration_s += static_cast<double>(interval.to - interval.from) / 1e9;
    unhealthy_ns += interval.to - interval.from;
  }
  phases[0].duration_s =
      static_cast<double>(std::max<std::int64_t>(0, end_ns - unhealthy_ns)) / 1e9;
  auto phase_at = [&](std::int64_t t) -> std::size_t {
    for (const auto& interval : intervals)
      if (t >= interval.from && t < interval.to) return position[interval.phase];
    return 0;
  };
  std::vector<std::vector<std::int64_t>> latencies(phases.size());
  for (const auto& s : op_spans(history)) {
    std::size_t p = phase_at(s.invoke_ns);
    switch (s.outcome) {
      case OpType::ok:
        ++phases[p].ok;
        if (s.complete_ns >= s.invoke_ns) latencies[p].push_back(s.complete_ns - s.invoke_ns);
        break;
      case OpType::fail:
        ++phases[p].fail;
        break;
      default:
        ++phases[p].info;
        break;
    }
  }
  for (std::size_t p = 0; p < phases.size(); ++p) {
    std::sort(latencies[p].begin(), latencies[p].end());
    phases[p].latency_ns_p50 = percentile(latencies[p], 0.50);
    phases[p].latency_ns_p95 = percentile(latencies[p], 0.95);
    phases[p].latency_ns_p99 = percentile(latencies[p], 0.99);
  }
  return phases;
}

namespace {

// A list value short: [1 2 3 … 29 30].
std::string list_text(const json& list) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list.size() > 7 && i == 3) {
      items.push_back("…");
      i = list.size() - 3;
    }
    items.push_back(value_text(list[i]));
  }
  return "[" + join(items, " ") + "]";
}

// Elle's micro-ops: "a 115 31, r 106 [1 2 3 … 8 9]".
std::string txn_text(const json& mops) {
  std::vector<std::string> parts;
  for (const auto& mop : mops) {
    if (!mop.is_array() || mop.size() < 2) {
      parts.push_back(value_text(mop));
      continue;
    }
    std::string f = value_text(mop[0]);
    std::string text = (f == "append" ? "a" : f) + " " + value_text(mop[1]);
    if (mop.size() > 2 && !mop[2].is_null())
      text += " " + (mop[2].is_array() ? list_text(mop[2]) : value_text(mop[2]));
    parts.push_back(text);
  }
  return join(parts, ", ");
}

}  // namespace

std::string OpSpan::label() const {
  constexpr std::size_t kValueChars = 60;
  if (f == "txn" && value.is_array()) return txn_text(value);
  if (f == "transfer" && value.is_object()) {
    // "transfer 17: 3 from 1 to 5, attempt 2, key t17 (duplicate)"
    std::string text = "transfer " + value_text(value.value("id", json())) + ": " +
                       value_text(value.value("amount", json())) + " from " +
                       value_text(value.value("from", json())) + " to " +
                       value_text(value.value("to", json()));
    if (value.value("attempt", 1) > 1) text += ", attempt " + value_text(value["attempt"]);
    text += value.contains("key") ? ", key " + value_text(value["key"]) : ", no key";
    return text + (value.value("duplicate", false) ? " (already applied)" : "");
  }
  std::string text = f + (key.empty() ? "" : " " + key);
  if (f == "read") return text + (outcome == OpType::ok ? " → " + value_text(value) : "");
  if (f == "cas" && value.is_array() && value.size() == 2)
    return text + " " + value_text(value[0]) + "→" + value_text(value[1]);
  if (value.is_null()) return text;
  std::string v = value.is_array() ? list_text(value) : value_text(value);
  if (v.size() > kValueChars) v = v.substr(0, kValueChars - 3) + "...";
  return text + " " + v;
}

std::vector<OpSpan> op_spans(const History& history) {
  std::vector<OpSpan> spans;
  for (const auto& pair : pair_ops(history, kInMemoryHistory)) {
    const Op& invoke = history[pair.invoke];
    OpSpan s;
    s.index = invoke.index;
    s.process = invoke.process;
    s.node = invoke.node;
    s.f = invoke.f;
    s.key = invoke.key;
    s.value = invoke.value;
    s.outcome = pair.outcome(history);
    s.invoke_ns = invoke.time_ns;
    if (pair.completion) {
      const Op& done = history[*pair.completion];
      s.complete_ns = done.time_ns;
      if (done.type == OpType::ok && !done.value.is_null()) s.value = done.value;
    }
    spans.push_back(std::move(s));
  }
  return spans;
}

std::vector<Anomaly> collect_anomalies(const json& results, const History& history,
                                       const std::vector<FaultWindow>& windows) {
  return AnomalyCollector(results, history, windows).collect();
}

std::vector<Anomaly> collect_counterexamples(const json& results, const History& history,
                                             const std::vector<FaultWindow>& windows) {
  return AnomalyCollector(results, history, windows).collect_counterexamples();
}

RunRecord record_of(const RunData& run) {
  if (run.results.contains("run") && run.results["run"].is_object())
    return run_record_from_json(run.results["run"]);
  // Schema 1: only the top-level fields; no spec as data.
  RunRecord r = run_record_from_json(run.results);
  r.fault_vocabulary.clear();
  return r;
}

std::vector<checker::CheckResult> checks_of(const json& results) {
  std::vector<checker::CheckResult> checks;
  for (const auto& c : results.value("checks", json::array()))
    if (c.is_object()) checks.push_back(checker::check_result_from_json(c));
  return checks;
}

Analysis analyze(const RunData& run) {
  Analysis a;
  a.windows = fault_windows(run.history);
  a.phases = phase_figures(run.history, a.windows);
  a.spans = op_spans(run.history);
  for (const auto& op : run.history) a.end_ns = std::max(a.end_ns, op.time_ns);
  for (const auto& s : a.spans) a.never_completed += s.complete_ns < 0;
  for (const auto& w : a.windows)
    if (std::find(a.faults_injected.begin(), a.faults_injected.end(), w.fault) ==
        a.faults_injected.end())
      a.faults_injected.push_back(w.fault);
  a.anomalies = collect_anomalies(run.results, run.history, a.windows);
  a.counterexamples = collect_counterexamples(run.results, run.history, a.windows);
  a.not_exercised = not_exercised(run, a);
  a.answers = {
      {"What is the strongest consistency model the history is consistent with (as tested)?",
       strongest_model_answer(run.results)},
      {"What happened during faults (partitions): unavailable, or stale?", faults_answer(a)},
      {"What is the scope of ordering: per key, or across keys?", scope_answer(run)},
      {"Which failure modes were not covered?", not_covered_answer(a)},
  };
  return a;
}

}  // namespace faultline::report
