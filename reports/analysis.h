// What the reports say about one run, computed from its files: fault windows, availability and
// latency per phase (healthy or under a fault), what the run did not exercise, the anomalies the
// checkers found (with the ops involved), and answers to the four design-review questions.
//
// Pure functions of the run's data: no files are written here. report.html, summary.md,
// junit.xml and `faultline compare` all read the same Analysis.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/history.h"
#include "reports/results.h"

namespace faultline::report {

// A run folder's inputs.
struct RunData {
  std::filesystem::path dir;
  std::string spec_text;   // spec.yaml as run (empty if missing)
  nlohmann::json results;  // results.json (see reports/RESULTS_SCHEMA.md)
  History history;
};

// Bad input: a run folder without a readable results.json.
class RunDirError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A folder with a history but no results.json is a run killed before its end-of-run record: its
// results are made up here as unfinished, verdict unknown (run.json supplies the record).
// Throws HistoryError (bad history) or RunDirError (neither results.json nor a history, or
// results.json unreadable).
RunData load_run(const std::filesystem::path& run_dir);

// One fault in force: from the nemesis's start-X info (the fault was applied) to the matching
// stop-X info (healed). A start that failed (info with an error) opens no window.
struct FaultWindow {
  std::string fault;  // "partition", "kill", ...
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;          // the stop's info; the history's last time if never stopped
  bool healed = false;              // false: no stop-X info was recorded
  nlohmann::json what;              // the start's info value: description, grudge, ...
  std::string description() const;  // what["description"], or the fault name
};

std::vector<FaultWindow> fault_windows(const History& history);

// The fault window containing `time_ns`, or nullptr (healthy).
const FaultWindow* window_at(const std::vector<FaultWindow>& windows, std::int64_t time_ns);

// How long after a fault is healed its aftermath is counted apart from healthy time ("after
// partition"): long enough for a leader election (etcd: about a second) and the clients' retries.
inline constexpr std::int64_t kAfterHeal_ns = 5'000'000'000;

// Client ops grouped by the phase in force when they were invoked: a fault window, the
// kAfterHeal_ns after it (at most half the quiet time before the next fault), or healthy.
struct PhaseFigures {
  std::string phase;      // "healthy", a fault name, or "after " + fault name
  int windows = 0;        // fault windows of this kind (0 for healthy)
  double duration_s = 0;  // time spent in this phase
  std::int64_t ok = 0;
  std::int64_t fail = 0;
  std::int64_t info = 0;             // info completions and invocations never completed
  std::int64_t latency_ns_p50 = -1;  // over ok ops; -1 when there are none
  std::int64_t latency_ns_p95 = -1;
  std::int64_t latency_ns_p99 = -1;

  std::int64_t total() const { return ok + fail + info; }
  double ok_per_s() const;  // ok ops invoked per second of this phase: availability as throughput
  // Shares of total() in [0, 1]; 0 when there are no ops.
  double ok_share() const;
  double fail_share() const;
  double info_share() const;
};

// "healthy" first (always present), then per fault kind in order of first start: the fault,
// then its aftermath ("after partition") when some window of it was healed.
std::vector<PhaseFigures> phase_figures(const History& history,
                                        const std::vector<FaultWindow>& windows);

// An op as a timeline shows it: invocation joined with its completion.
struct OpSpan {
  std::int64_t index = 0;  // the invocation's index
  std::int64_t process = 0;
  std::string node;
  std::string f;
  std::string key;
  nlohmann::json value;           // the completion's value when ok, else the invocation's
  OpType outcome = OpType::info;  // info also when never completed
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = -1;  // -1: never completed
  std::string label() const;      // "read k1 → 3", "cas k0 1→4", "write k2 4"
};

// Every client op, in invocation order.
std::vector<OpSpan> op_spans(const History& history);

// One anomaly a checker reported (checker::Anomaly), with what the run adds: op labels and the
// fault in force.
struct Anomaly {
  std::string checker;                 // "linearizable", "elle-list-append", ...
  std::string type;                    // "nonlinearizable-read", "G-single", ...
  std::string key;                     // empty when it spans keys
  std::string headline;                // one line
  std::vector<std::string> sentences;  // the explanation, step by step
  std::vector<std::int64_t> ops;       // invocation indexes of the ops involved, in time order
  std::int64_t focus = -1;             // the op that cannot be explained, if any
  std::map<std::int64_t, std::string> names;  // op -> the checker's name for it ("T5936")
  std::string context;  // the fault in force at the focus op, and its node's side
};

std::vector<Anomaly> collect_anomalies(const nlohmann::json& results, const History& history,
                                       const std::vector<FaultWindow>& windows);
// The checkers' shrunk counterexamples (details.counterexample), as anomalies of type
// "counterexample" whose ops are the shrunk sub-history.
std::vector<Anomaly> collect_counterexamples(const nlohmann::json& results,
                                             const History& history,
                                             const std::vector<FaultWindow>& windows);

// The run record of results.json ("run"); for a schema-1 file, what its top-level fields tell
// (no faults asked for, no fault vocabulary).
RunRecord record_of(const RunData& run);

// results.json's checks[], typed.
std::vector<checker::CheckResult> checks_of(const nlohmann::json& results);

struct NotExercised {
  std::string what;
  std::string why;
};

struct ReviewAnswer {
  std::string question;
  std::string answer;
};

struct Analysis {
  std::vector<FaultWindow> windows;
  std::vector<PhaseFigures> phases;
  std::vector<OpSpan> spans;
  std::vector<Anomaly> anomalies;
  std::vector<Anomaly> counterexamples;  // shrunk, shown before the anomalies; not counted as ones
  std::vector<std::string> faults_injected;  // kinds with at least one window
  std::vector<NotExercised> not_exercised;
  std::vector<ReviewAnswer> answers;  // the four review questions, in order
  std::int64_t never_completed = 0;   // invocations without a completion
  std::int64_t end_ns = 0;            // the history's last time
};

Analysis analyze(const RunData& run);

// The phase of that name ("healthy", "partition", "after partition"), or nullptr.
const PhaseFigures* find_phase(const Analysis& analysis, const std::string& phase);

}  // namespace faultline::report
