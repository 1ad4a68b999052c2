// What every checker returns, how verdicts combine, and the Checker interface (Jepsen's checker
// protocol): a checker grades a history against a claimed consistency model and answers valid,
// invalid or unknown; unknown (search budget exhausted, unsupported case) is never a pass.
// Several checkers grade one history together through check_all (Jepsen's compose): the worst
// verdict wins.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/history.h"

namespace faultline::checker {

enum class Verdict { valid, invalid, unknown };

constexpr std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::valid: return "valid";
    case Verdict::invalid: return "invalid";
    case Verdict::unknown: return "unknown";
  }
  return "?";
}

// "valid", "invalid"; anything else (absent, misspelt) is unknown: never a pass.
Verdict parse_verdict(std::string_view text);

// Jepsen's exit codes, which CI users already script against.
constexpr int exit_code(Verdict verdict) {
  switch (verdict) {
    case Verdict::valid: return 0;
    case Verdict::invalid: return 1;
    case Verdict::unknown: return 2;
  }
  return 255;
}

// The verdict of two checks together: invalid beats unknown beats valid.
constexpr Verdict worst(Verdict a, Verdict b) {
  auto rank = [](Verdict v) { return v == Verdict::invalid ? 2 : v == Verdict::unknown ? 1 : 0; };
  return rank(a) >= rank(b) ? a : b;
}

// One anomaly as the checker that found it describes it, so that every output renders it
// without knowing the checker: what kind, where, which ops, and why.
struct Anomaly {
  std::string kind;               // "nonlinearizable-read", "G-single", "lost", ...
  std::vector<std::string> keys;  // the keys involved; empty when it spans no named key
  std::vector<std::int64_t> ops;  // invocation indexes of the ops involved, in time order
  std::int64_t focus = -1;        // the op that cannot be explained; -1: none (a cycle)
  std::map<std::int64_t, std::string> names;  // op -> the checker's name for it ("T5936")
  // Ops the checker ordered just before the focus (the tail of a linearizable prefix), for the
  // reader's context; a subset of `ops`.
  std::vector<std::int64_t> preceding;
  std::string headline;                  // one line
  std::vector<std::string> explanation;  // full sentences, step by step
};

struct CheckResult {
  std::string checker;      // "linearizable", "elle-list-append", "set-full", ...
  std::string model;        // the model or isolation level graded against
  Verdict verdict = Verdict::unknown;
  std::string summary;      // one sentence a reviewer can read
  std::vector<Anomaly> anomalies;  // shown to readers; a checker may cap how many per kind
  nlohmann::json details = nlohmann::json::object();  // checker-specific extras, per checker
  double check_time_s = 0;  // wall time the check took
};

struct CheckLimits {
  double time_limit_s = 0;  // 0: no wall-clock limit (the checker's own budget still applies)
};

// A checker: built once with its options, then grades histories. Implementations are pure
// functions of the history and thread-safe. Throws HistoryError on malformed input.
class Checker {
 public:
  virtual ~Checker() = default;
  virtual CheckResult check(const History& history, const CheckLimits& limits) const = 0;
};

// A checker with no options and no use for the wall-clock limit: a free function of the history.
class FunctionChecker final : public Checker {
 public:
  explicit FunctionChecker(CheckResult (*check)(const History&)) : check_(check) {}
  CheckResult check(const History& history, const CheckLimits&) const override { return check_(history); }

 private:
  CheckResult (*check_)(const History&);
};

using Checkers = std::vector<std::shared_ptr<const Checker>>;

// Several checks of one history: the worst verdict over them (valid when there are none only
// if the caller says so: no checker ran is unknown).
struct Checked {
  Verdict verdict = Verdict::unknown;
  std::vector<CheckResult> checks;
};

// Runs every checker on `history` (Jepsen's compose). No checkers: unknown.
Checked check_all(const Checkers& checkers, const History& history, const CheckLimits& limits);

nlohmann::json to_json(const Anomaly& anomaly);
nlohmann::json to_json(const CheckResult& result);
// Reads what to_json wrote; fields absent in older files take their defaults (no anomalies).
CheckResult check_result_from_json(const nlohmann::json& object);

}  // namespace faultline::checker
