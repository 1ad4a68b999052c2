#include "checker/linear/linearizability.h"
#include "checker/linear/shrink.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <exception>
#include <new>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "checker/linear/explain.h"
#include "checker/linear/model.h"
#include "checker/linear/search.h"
#include "core/text.h"

namespace faultline::checker {

using namespace linear;

std::vector<std::string> linear_model_names() {
  std::vector<std::string> names;
  for (const ModelKind& kind : model_kinds()) names.emplace_back(kind.name);
  return names;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The ops of one key (or of the whole history, when ops carry no key), in invoke order.
struct Object {
  std::string key;
  std::vector<ObjectOp> ops;
};

// Where each process's op in flight sits: its object and position there. Process numbers are
// small in practice (Jepsen: old + concurrency after each crash), so they index a vector; any
// other goes to a map.
class InFlight {
 public:
  struct Slot {
    std::size_t object = kNever;  // kNever: nothing in flight
    std::size_t position = 0;
  };
  explicit InFlight(std::size_t dense_limit) : dense_limit_(dense_limit) {}

  Slot& operator[](std::int64_t process) {
    if (process < 0 || static_cast<std::size_t>(process) >= dense_limit_) return sparse_[process];
    auto index = static_cast<std::size_t>(process);
    if (index >= dense_.size()) dense_.resize(std::max(index + 1, 2 * dense_.size()));
    return dense_[index];
  }

 private:
  std::size_t dense_limit_;
  std::vector<Slot> dense_;
  std::unordered_map<std::int64_t, Slot> sparse_;
};

// Pairs invocations with completions, drops nemesis and failed ops, and splits by key: a key's
// ops are checked on their own (linearizability is compositional). One pass; harness pair_ops
// does the same pairing but is too slow for million-op histories split this way.
std::vector<Object> split_by_key(const History& history) {
  std::vector<Object> objects;
  std::unordered_map<std::string_view, std::size_t> object_of;  // key -> position in objects
  InFlight in_flight(4 * history.size() + 64);
  std::size_t last = kNever;  // consecutive ops often share a key: skip the hash then
  auto object_for = [&](std::string_view key) {
    if (last != kNever && objects[last].key == key) return last;
    auto [it, inserted] = object_of.emplace(key, objects.size());
    if (inserted) {
      objects.push_back(Object{std::string(key), {}});
      if (objects.size() == 1) objects.back().ops.reserve(history.size() / 2);
    }
    return last = it->second;
  };
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    if (op.is_nemesis()) continue;
    InFlight::Slot& slot = in_flight[op.process];
    if (op.type == OpType::invoke) {
      if (slot.object != kNever) {
        const Op& other = *objects[slot.object].ops[slot.position].invoke;
        throw HistoryError(kInMemoryHistory, 0, "process " + std::to_string(op.process) + " invokes op index " +
                                             std::to_string(op.index) + " while op index " +
                                             std::to_string(other.index) +
                                             " is still in flight (a process runs one op at a time)");
      }
      slot.object = object_for(op.key);
      slot.position = objects[slot.object].ops.size();
      objects[slot.object].ops.push_back(ObjectOp{&op, nullptr, OpType::info, i, kNever});
      continue;
    }
    if (slot.object == kNever) {  // a completion with no invocation: an op known by its outcome
      objects[object_for(op.key)].ops.push_back(ObjectOp{&op, &op, op.type, i, i});
      continue;
    }
    ObjectOp& invoked = objects[slot.object].ops[slot.position];
    invoked.completion = &op;
    invoked.outcome = op.type;
    invoked.complete_pos = i;
    slot.object = kNever;
  }
  for (Object& object : objects) {
    std::erase_if(object.ops, [](const ObjectOp& op) { return op.outcome == OpType::fail; });  // never took effect
  }
  return objects;
}

std::string key_text(const nlohmann::json& key) { return key.is_string() ? key.get<std::string>() : key.dump(); }

// A copy of a Jepsen "independent" history with each [k, v] tuple turned into key k and value v.
// An op without a tuple (a read invoked with nil, an info with none) shares its partner's key.
History untupled(const History& history) {
  History copy = history;
  std::unordered_map<std::int64_t, std::size_t> open;  // process -> position of its invocation
  for (std::size_t i = 0; i < copy.size(); ++i) {
    Op& op = copy[i];
    if (op.is_nemesis()) continue;
    bool tuple = op.value.is_array() && op.value.size() == 2;
    if (tuple) {
      op.key = key_text(op.value[0]);
      nlohmann::json value = std::move(op.value[1]);
      op.value = std::move(value);
    }
    if (op.type == OpType::invoke) {
      open[op.process] = i;
      continue;
    }
    auto it = open.find(op.process);
    if (it == open.end()) {
      if (!tuple) {
        throw HistoryError(kInMemoryHistory, 0, "op index " + std::to_string(op.index) +
                                             ": an independent op's value must be [key, value], not " +
                                             printable(op.value.dump()));
      }
      continue;
    }
    Op& invoke = copy[it->second];
    if (!tuple) op.key = invoke.key;
    if (invoke.key.empty()) invoke.key = op.key;
    open.erase(it);
  }
  return copy;
}

struct KeyResult {
  Verdict verdict = Verdict::unknown;
  std::size_t ops_checked = 0;  // after dropping ops that constrain nothing
  std::uint64_t states = 0;
  double time_s = 0;
  std::size_t deepest = 0;  // ops in the longest linearizable prefix met at a dead end
  std::optional<Failure> failure;
  // Or "zones" (unique-writes registers), "direct" (no search), "refuted" (a necessary condition
  // failed: ModelKind::refute).
  const char* method = "search";
};

KeyResult search_object(const Object& object, const ModelKind& kind, const LinearOptions& options,
                        Budget& budget) {
  std::unique_ptr<Model> model = kind.make(options);
  std::vector<SearchOp> ops;
  std::vector<const ObjectOp*> sources;
  ops.reserve(object.ops.size());
  sources.reserve(object.ops.size());
  for (const ObjectOp& op : object.ops) {
    std::optional<Call> call = model->parse(op);
    if (!call) continue;
    ops.push_back(SearchOp{*call, op.invoke_pos, op.is_ok() ? op.complete_pos : kNever});
    sources.push_back(&op);
  }
  SearchResult found = search(ops, *model, budget);
  KeyResult result{found.verdict, ops.size(), found.states, 0, found.longest_prefix.size(), std::nullopt, "search"};
  if (found.verdict == Verdict::invalid) {
    result.failure = explain_search(ops, sources, found, object.key.empty() ? "the object" : object.key, *model);
  }
  return result;
}

KeyResult check_object(const Object& object, const ModelKind& kind, const LinearOptions& options,
                       Budget& budget) {
  Clock::time_point start = Clock::now();
  KeyResult result;
  if (kind.refute != nullptr && options.refute) {
    if (std::optional<DirectOutcome> refuted = kind.refute(object.ops, options)) {
      result.verdict = Verdict::invalid;
      result.ops_checked = object.ops.size();
      result.method = "refuted";
      result.failure = explain_direct(*refuted);
      result.time_s = seconds_since(start);
      return result;
    }
  }
  std::optional<DirectOutcome> fast;
  if (kind.fast != nullptr) fast = kind.fast(object.ops, options);
  if (kind.direct != nullptr || (fast && fast->verdict == Verdict::valid)) {
    DirectOutcome outcome = fast ? *fast : kind.direct(object.ops, options);
    result.verdict = outcome.verdict;
    result.ops_checked = object.ops.size();
    result.method = fast ? "zones" : "direct";
    if (outcome.verdict == Verdict::invalid) result.failure = explain_direct(outcome);
  } else {
    try {
      result = search_object(object, kind, options, budget);
    } catch (const std::bad_alloc&) {  // the budget's reservations are released on the way out
      budget.out_of_memory();
      result = KeyResult{};
      result.ops_checked = object.ops.size();
    }
    // The fast check proved it invalid: the search may only fail to explain it within budget.
    assert(!fast || result.verdict != Verdict::valid);
    if (fast && result.verdict == Verdict::unknown) {
      result.verdict = Verdict::invalid;
      result.method = "zones";
      result.failure = explain_direct(*fast);
    }
  }
  result.time_s = seconds_since(start);
  return result;
}

// Checks every object, biggest first so that a large key does not start last. Rethrows the first
// error (in key order) after all workers stop.
std::vector<KeyResult> check_objects(const std::vector<Object>& objects, const ModelKind& kind,
                                     const LinearOptions& options, Budget& budget, unsigned threads) {
  std::vector<std::size_t> order(objects.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return objects[a].ops.size() > objects[b].ops.size();
  });
  std::vector<KeyResult> results(objects.size());
  std::vector<std::exception_ptr> errors(objects.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < order.size();) {
      try {
        results[order[i]] = check_object(objects[order[i]], kind, options, budget);
      } catch (...) {
        errors[order[i]] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
  return results;
}

std::string key_label(const std::string& key) { return key.empty() ? "" : "key " + key + ": "; }

std::string summarize(const CheckResult& check, const std::vector<Object>& objects,
                      const std::vector<KeyResult>& results, std::size_t ops, std::size_t invalid,
                      std::size_t unknown, const std::string& spent) {
  std::string scope = std::to_string(ops) + " ops" +
                      (objects.size() > 1 ? " over " + std::to_string(objects.size()) + " keys" : "");
  if (check.verdict == Verdict::valid) return "linearizable (" + check.model + "): " + scope;
  if (check.verdict == Verdict::unknown) {
    return "unknown (" + check.model + "): the search ran out of " + spent + " on " + std::to_string(unknown) +
           " of " + std::to_string(objects.size()) + " keys (" + scope + "); no key was found invalid";
  }
  std::size_t first = 0;
  while (results[first].verdict != Verdict::invalid) ++first;
  std::string more = invalid > 1 ? " (and " + std::to_string(invalid - 1) + " more invalid keys)" : "";
  return "not linearizable (" + check.model + "): " + key_label(objects[first].key) +
         results[first].failure->reason + more;
}

// The verdict over all keys, the summary and the details.
// What ran out, for the summary of an unknown verdict.
std::string spent_text(const Budget& budget, const LinearOptions& options) {
  switch (budget.spent()) {
    case Budget::Spent::memory:
      return "memory (budget " + std::to_string(budget.max_bytes() >> 20) + " MiB" +
             (options.max_memory_bytes == 0 ? ", half the memory available" : "") + ")";
    case Budget::Spent::time: {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", options.time_limit_s);
      return "time (limit " + std::string(limit) + " s)";
    }
    case Budget::Spent::no: break;
  }
  return "budget";
}

CheckResult combine(const std::vector<Object>& objects, const std::vector<KeyResult>& results,
                    const LinearOptions& options, const Budget& budget, unsigned threads) {
  CheckResult check;
  check.checker = "linearizable";
  check.model = options.model;
  check.verdict = Verdict::valid;
  nlohmann::json per_key = nlohmann::json::array(), failures = nlohmann::json::array();
  nlohmann::json invalid_keys = nlohmann::json::array(), unknown_keys = nlohmann::json::array();
  std::size_t ops = 0;
  std::uint64_t states = 0;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const KeyResult& result = results[i];
    check.verdict = worst(check.verdict, result.verdict);
    ops += result.ops_checked;
    states += result.states;
    per_key.push_back({{"key", objects[i].key}, {"verdict", to_string(result.verdict)},
                       {"ops", result.ops_checked}, {"states", result.states}, {"time_s", result.time_s},
                       {"method", result.method}});
    if (result.verdict == Verdict::unknown) {
      per_key.back()["longest_prefix_length"] = result.deepest;  // how far the search got
      unknown_keys.push_back(objects[i].key);
    }
    if (result.verdict != Verdict::invalid) continue;
    invalid_keys.push_back(objects[i].key);
    nlohmann::json failure = result.failure->details;
    failure["key"] = objects[i].key;
    check.anomalies.push_back(linear_anomaly(failure));
    failures.push_back(std::move(failure));
  }
  check.summary = summarize(check, objects, results, ops, invalid_keys.size(), unknown_keys.size(),
                            spent_text(budget, options));
  check.details = {{"ops_checked", ops},
                   {"keys", objects.size()},
                   {"states_explored", states},
                   {"memory_budget_bytes", budget.max_bytes()},
                   {"memory_peak_bytes", budget.peak_bytes()},
                   {"budget_exhausted", !unknown_keys.empty()},
                   {"threads", threads}};
  // Moved in, not copied: per_key has an entry for every key.
  check.details["invalid_keys"] = std::move(invalid_keys);
  check.details["unknown_keys"] = std::move(unknown_keys);
  check.details["failures"] = std::move(failures);
  check.details["per_key"] = std::move(per_key);
  return check;
}

}  // namespace

CheckResult check_linearizable(const History& given, const LinearOptions& options) {
  Clock::time_point start = Clock::now();
  const ModelKind& kind = find_model_kind(options.model);
  History copy;  // ops point into it: it must outlive the check
  if (options.independent_tuples) copy = untupled(given);
  const History& history = options.independent_tuples ? copy : given;
  std::vector<Object> objects = split_by_key(history);
  static const unsigned cores = std::max(1u, std::thread::hardware_concurrency());  // reads /sys: once
  unsigned threads = options.threads != 0 ? options.threads : cores;
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(objects.size(), 1)));
  Budget budget(options.max_memory_bytes, options.time_limit_s);
  std::vector<KeyResult> results = check_objects(objects, kind, options, budget, threads);
  CheckResult check = combine(objects, results, options, budget, threads);
  attach_counterexample(check, history, options);
  check.check_time_s = seconds_since(start);
  return check;
}

}  // namespace faultline::checker
