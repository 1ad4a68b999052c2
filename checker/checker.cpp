#include "checker/checker.h"

#include <algorithm>

namespace faultline::checker {

using nlohmann::json;

Verdict parse_verdict(std::string_view text) {
  if (text == "valid") return Verdict::valid;
  if (text == "invalid") return Verdict::invalid;
  return Verdict::unknown;
}

Checked check_all(const Checkers& checkers, const History& history, const CheckLimits& limits) {
  Checked out;
  out.verdict = checkers.empty() ? Verdict::unknown : Verdict::valid;
  for (const auto& c : checkers) {
    out.checks.push_back(c->check(history, limits));
    out.verdict = worst(out.verdict, out.checks.back().verdict);
  }
  return out;
}

json to_json(const Anomaly& a) {
  json names = json::object();
  for (const auto& [op, name] : a.names) names[std::to_string(op)] = name;
  return {{"kind", a.kind},         {"keys", a.keys},         {"ops", a.ops},
          {"focus", a.focus},       {"names", names},         {"preceding", a.preceding},
          {"headline", a.headline}, {"explanation", a.explanation}};
}

json to_json(const CheckResult& result) {
  json anomalies = json::array();
  for (const auto& a : result.anomalies) anomalies.push_back(to_json(a));
  return {{"checker", result.checker},   {"model", result.model},
          {"verdict", to_string(result.verdict)}, {"valid", result.verdict == Verdict::valid},
          {"summary", result.summary},   {"check_time_s", result.check_time_s},
          {"anomalies", anomalies},      {"details", result.details}};
}

namespace {

Anomaly anomaly_from_json(const json& o) {
  Anomaly a;
  a.kind = o.value("kind", std::string());
  a.keys = o.value("keys", std::vector<std::string>{});
  a.ops = o.value("ops", std::vector<std::int64_t>{});
  a.focus = o.value("focus", std::int64_t{-1});
  const json names = o.value("names", json::object());
  for (const auto& [op, name] : names.items()) {
    bool numeric = !op.empty() && op.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && op.size() < 19 && name.is_string()) a.names[std::stoll(op)] = name.get<std::string>();
  }
  a.preceding = o.value("preceding", std::vector<std::int64_t>{});
  a.headline = o.value("headline", std::string());
  a.explanation = o.value("explanation", std::vector<std::string>{});
  return a;
}

}  // namespace

CheckResult check_result_from_json(const json& o) {
  CheckResult r;
  r.checker = o.value("checker", std::string());
  r.model = o.value("model", std::string());
  r.verdict = parse_verdict(o.value("verdict", std::string()));
  r.summary = o.value("summary", std::string());
  for (const auto& a : o.value("anomalies", json::array())) r.anomalies.push_back(anomaly_from_json(a));
  r.details = o.value("details", json::object());
  r.check_time_s = o.value("check_time_s", 0.0);
  return r;
}

}  // namespace faultline::checker
