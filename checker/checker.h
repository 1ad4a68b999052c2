// What every checker returns, and how verdicts combine.
//
// A checker grades a history against a claimed consistency model. It answers valid, invalid or
// unknown; unknown (search budget exhausted, unsupported case) is never a pass.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

struct CheckResult {
  std::string checker;      // "linearizable", "elle-list-append", ...
  std::string model;        // the model or isolation level graded against
  Verdict verdict = Verdict::unknown;
  std::string summary;      // one sentence a reviewer can read
  nlohmann::json details = nlohmann::json::object();  // checker-specific, documented per checker
  double check_time_s = 0;  // wall time the check took
};

inline nlohmann::json to_json(const CheckResult& result) {
  return {{"checker", result.checker},   {"model", result.model},
          {"verdict", to_string(result.verdict)}, {"valid", result.verdict == Verdict::valid},
          {"summary", result.summary},   {"check_time_s", result.check_time_s},
          {"details", result.details}};
}

}  // namespace faultline::checker
