// Hand-built histories for the linearizability tests: invoke / ok / fail / info by process.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "checker/linear/generate.h"
#include "checker/linear/linearizability.h"
#include "core/history.h"

namespace faultline::testing {

class HistoryBuilder {
 public:
  // Starts an op on `process`; the completion repeats its f and key.
  HistoryBuilder& invoke(std::int64_t process, const std::string& f, nlohmann::json value = nullptr,
                         const std::string& key = "") {
    open_[process] = append(process, OpType::invoke, f, std::move(value), key);
    return *this;
  }
  HistoryBuilder& ok(std::int64_t process, nlohmann::json value = nullptr) {
    return complete(process, OpType::ok, std::move(value));
  }
  HistoryBuilder& fail(std::int64_t process) { return complete(process, OpType::fail, nullptr); }
  HistoryBuilder& info(std::int64_t process) { return complete(process, OpType::info, nullptr); }
  // An op that completes ok before the next one starts.
  HistoryBuilder& op(std::int64_t process, const std::string& f, nlohmann::json in, nlohmann::json out,
                     const std::string& key = "") {
    invoke(process, f, std::move(in), key);
    return ok(process, std::move(out));
  }
  HistoryBuilder& nemesis(const std::string& f) {
    append(kNemesisProcess, OpType::info, f, nullptr, "");
    return *this;
  }
  const History& history() const { return history_; }

 private:
  std::size_t append(std::int64_t process, OpType type, const std::string& f, nlohmann::json value,
                     const std::string& key) {
    checker::linear::append_op(history_, process, type, f, key, std::move(value));
    return history_.size() - 1;
  }
  HistoryBuilder& complete(std::int64_t process, OpType type, nlohmann::json value) {
    const Op& invocation = history_[open_.at(process)];
    // A completion repeats the invocation's value unless it reports one (a read's result).
    nlohmann::json completion_value = value.is_null() ? invocation.value : std::move(value);
    append(process, type, invocation.f, std::move(completion_value), invocation.key);
    open_.erase(process);
    return *this;
  }

  History history_;
  std::map<std::int64_t, std::size_t> open_;
};

inline checker::Verdict verdict_of(const History& history, const std::string& model,
                                   nlohmann::json initial_value = nullptr) {
  checker::LinearOptions options;
  options.model = model;
  options.initial_value = std::move(initial_value);
  options.threads = 1;
  return checker::check_linearizable(history, options).verdict;
}

}  // namespace faultline::testing
