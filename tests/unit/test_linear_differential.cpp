// Differential test: the WGL search against a brute-force search over every order that respects
// real time, written independently over JSON states. Histories are linearizable by construction
// (a sequential run whose ops are then stretched to overlap their neighbours, some turned info
// or left unfinished), plus mutated copies (a changed result, a dropped op, a fail made ok).
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "checker/linear/generate.h"
#include "checker/linear/linearizability.h"
#include "checker/linear/models/models.h"

using namespace faultline;
using namespace faultline::checker;
using nlohmann::json;

namespace {

constexpr std::size_t kNever = static_cast<std::size_t>(-1);

// One op as the brute force sees it.
struct RefOp {
  std::string f;
  json in, out;
  bool ok = true;  // false: info or never completed
  std::size_t invoke = 0, complete = kNever;
};

// The reference semantics: the state after `op`, or nullopt if it cannot take effect in `state`.
using RefStep = std::function<std::optional<json>(const json& state, const RefOp& op)>;

std::optional<json> register_step(const json& state, const RefOp& op) {
  if (op.f == "read") return !op.ok || op.out == state ? std::optional<json>(state) : std::nullopt;
  if (op.f == "write") return op.in;
  if (op.in[0] != state) return std::nullopt;
  return op.in[1];
}

std::optional<json> mutex_step(const json& state, const RefOp& op) {
  bool acquire = op.f == "acquire";
  if (state.get<bool>() == acquire) return std::nullopt;
  return json(acquire);
}

std::optional<json> queue_step(const json& state, const RefOp& op) {
  json next = state;
  if (op.f == "enqueue") {
    next.push_back(op.in);
    return next;
  }
  if (state.empty()) return !op.ok || op.out.is_null() ? std::optional<json>(state) : std::nullopt;
  if (op.ok && op.out != state[0]) return std::nullopt;
  next.erase(next.begin());
  return next;
}

std::optional<json> set_step(const json& state, const RefOp& op) {
  std::set<json> elements(state.begin(), state.end());
  if (op.f == "add") {
    elements.insert(op.in);
    return json(elements);
  }
  if (!op.ok) return state;
  std::set<json> read(op.out.begin(), op.out.end());
  return read == elements ? std::optional<json>(state) : std::nullopt;
}

// Txns of [f k v] micro-ops over registers; a read of nil in an unfinished txn matches anything.
std::optional<json> txn_step(const json& state, const RefOp& op) {
  json next = state;
  for (const json& micro : op.ok ? op.out : op.in) {
    const std::string& key = micro[1].get_ref<const std::string&>();
    if (micro[0] == "w") next[key] = micro[2];
    else if ((op.ok || !micro[2].is_null()) && next[key] != micro[2]) return std::nullopt;
  }
  return next;
}

std::vector<RefOp> ref_ops(const History& history) {
  std::vector<RefOp> ops;
  std::map<std::int64_t, std::size_t> open;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    if (op.type == OpType::invoke) {
      open[op.process] = ops.size();
      ops.push_back(RefOp{op.f, op.value, nullptr, false, i, kNever});
      continue;
    }
    RefOp& ref = ops[open.at(op.process)];
    open.erase(op.process);
    ref.ok = op.type == OpType::ok;
    if (op.type == OpType::ok) {
      ref.out = op.value;
      ref.complete = i;
    }
    if (op.type == OpType::fail) ref.f = "failed";
  }
  std::erase_if(ops, [](const RefOp& op) { return op.f == "failed"; });
  return ops;
}

// Is there an order of the ops, each taking effect at most once and every ok op exactly once,
// such that an op never goes before one that completed before it was invoked?
bool brute_force_linearizable(const History& history, const RefStep& step, const json& initial) {
  std::vector<RefOp> ops = ref_ops(history);
  REQUIRE(ops.size() <= 16);
  std::set<std::pair<std::uint32_t, std::string>> failed;
  std::function<bool(std::uint32_t, const json&)> extend = [&](std::uint32_t done, const json& state) {
    bool all_ok_done = true;
    for (std::size_t i = 0; i < ops.size(); ++i) all_ok_done &= !ops[i].ok || (done >> i & 1);
    if (all_ok_done) return true;
    if (failed.contains({done, state.dump()})) return false;
    for (std::size_t j = 0; j < ops.size(); ++j) {
      if (done >> j & 1) continue;
      bool must_wait = false;
      for (std::size_t i = 0; i < ops.size(); ++i)
        must_wait |= !(done >> i & 1) && ops[i].complete != kNever && ops[i].complete < ops[j].invoke;
      if (must_wait) continue;
      std::optional<json> next = step(state, ops[j]);
      if (next && extend(done | 1u << j, *next)) return true;
    }
    failed.insert({done, state.dump()});
    return false;
  };
  return extend(0, initial);
}

// A sequential run, as (f, in, out, ok) ops in their linearization order.
struct SeqOp {
  std::string f;
  json in, out;
  bool ok = true;
};
using SeqGen = std::function<SeqOp(json& state, std::mt19937_64& rng)>;

int pick(std::mt19937_64& rng, int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

SeqOp register_gen(json& state, std::mt19937_64& rng) {
  switch (pick(rng, 3)) {
    case 0: return {"read", nullptr, state, true};
    case 1: {
      int value = pick(rng, 3);
      state = value;
      return {"write", value, nullptr, true};
    }
    default: {
      json old = pick(rng, 2) == 0 ? state : json(pick(rng, 3));
      int value = pick(rng, 3);
      bool ok = old == state;
      if (ok) state = value;
      return {"cas", {old, value}, nullptr, ok};
    }
  }
}

// Writes of fresh values only: the register model's polynomial check (zones) applies.
SeqOp unique_register_gen(json& state, std::mt19937_64& rng) {
  static int next_value = 0;
  if (pick(rng, 2) == 0) return {"read", nullptr, state, true};
  state = ++next_value;
  return {"write", state, nullptr, true};
}

SeqOp mutex_gen(json& state, std::mt19937_64& rng) {
  bool acquire = pick(rng, 4) != 0 ? !state.get<bool>() : state.get<bool>();  // mostly legal
  bool ok = state.get<bool>() != acquire;
  if (ok) state = acquire;
  return {acquire ? "acquire" : "release", nullptr, nullptr, ok};
}

SeqOp queue_gen(json& state, std::mt19937_64& rng) {
  static int next_value = 0;
  if (pick(rng, 2) == 0) {
    state.push_back(++next_value % 100);
    return {"enqueue", state.back(), nullptr, true};
  }
  json front = state.empty() ? json(nullptr) : state[0];
  if (!state.empty()) state.erase(state.begin());
  return {"dequeue", nullptr, front, true};
}

SeqOp set_gen(json& state, std::mt19937_64& rng) {
  if (pick(rng, 3) != 0) {
    int value = pick(rng, 6);
    std::set<json> elements(state.begin(), state.end());
    elements.insert(value);
    state = json(elements);
    return {"add", value, nullptr, true};
  }
  json read = state;
  std::shuffle(read.begin(), read.end(), rng);
  return {"read", nullptr, read, true};
}

SeqOp txn_gen(json& state, std::mt19937_64& rng) {
  json in = json::array(), out = json::array();
  for (int i = 0, n = 1 + pick(rng, 2); i < n; ++i) {
    std::string key = pick(rng, 2) == 0 ? "x" : "y";
    if (pick(rng, 2) == 0) {
      int value = pick(rng, 3);
      state[key] = value;
      in.push_back({"w", key, value});
      out.push_back({"w", key, value});
    } else {
      in.push_back({"r", key, nullptr});
      out.push_back({"r", key, state[key]});
    }
  }
  return {"txn", in, out, true};
}

// Runs `gen` sequentially, then gives op i the linearization point 4i + 2 and an interval
// stretched by up to 6 ops either way; processes are reused once free. Some ops end info (and
// then may be completed or not), some never complete.
History stretched_history(const SeqGen& gen, json state, int ops, std::mt19937_64& rng) {
  struct Event {
    int time;
    int op;
    bool invoke;
  };
  std::vector<SeqOp> seq;
  std::vector<Event> events;
  for (int i = 0; i < ops; ++i) {
    seq.push_back(gen(state, rng));
    int point = 4 * i + 2;
    events.push_back({point - 1 - pick(rng, 24), i, true});
    if (pick(rng, 10) != 0) events.push_back({point + 1 + pick(rng, 24), i, false});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.time < b.time; });
  History history;
  std::vector<std::int64_t> process_of(ops, -1);
  std::set<std::int64_t> busy;
  for (const Event& event : events) {
    const SeqOp& op = seq[event.op];
    Op record;
    record.index = static_cast<std::int64_t>(history.size());
    record.f = op.f;
    if (event.invoke) {
      std::int64_t process = 0;
      while (busy.contains(process)) ++process;
      busy.insert(process);
      process_of[event.op] = process;
      record.type = OpType::invoke;
      record.value = op.in;
    } else {
      busy.erase(process_of[event.op]);
      bool info = pick(rng, 6) == 0;
      record.type = info ? OpType::info : op.ok ? OpType::ok : OpType::fail;
      record.value = op.out.is_null() ? op.in : op.out;
      if (info) record.value = op.in;
    }
    record.process = process_of[event.op];
    history.push_back(std::move(record));
  }
  return history;
}

// A copy with one change that may or may not break linearizability.
History mutated(History history, std::mt19937_64& rng) {
  std::vector<std::size_t> completions;
  for (std::size_t i = 0; i < history.size(); ++i)
    if (history[i].type != OpType::invoke) completions.push_back(i);
  if (completions.empty()) return history;
  Op& op = history[completions[pick(rng, static_cast<int>(completions.size()))]];
  switch (pick(rng, 3)) {
    case 0:  // a different result
      if (op.f == "txn" && !op.value.empty()) {
        json& last = op.value.back()[2];
        last = last.is_number() ? last.get<int>() + 1 : 0;
      } else if (op.value.is_array() && !op.value.empty() && op.f != "cas") op.value.erase(op.value.size() - 1);
      else if (op.value.is_array() && op.f != "cas") op.value.push_back(5);
      else if (op.f != "cas") op.value = op.value.is_number() ? op.value.get<int>() + 1 : 0;
      break;
    case 1:  // a fail that succeeded after all
      if (op.type == OpType::fail) op.type = OpType::ok;
      break;
    default: {  // an op dropped from the history
      std::int64_t process = op.process;
      std::size_t at = static_cast<std::size_t>(&op - history.data());
      std::size_t invoke = at;
      while (history[invoke].type != OpType::invoke || history[invoke].process != process) --invoke;
      history.erase(history.begin() + static_cast<std::ptrdiff_t>(at));
      history.erase(history.begin() + static_cast<std::ptrdiff_t>(invoke));
    }
  }
  return history;
}

// The ops of a one-key history as the models see them: invocations paired with completions,
// failed ops dropped.
std::vector<linear::ObjectOp> object_ops(const History& history) {
  std::vector<linear::ObjectOp> ops;
  std::map<std::int64_t, std::size_t> open;  // process -> its op in ops
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    if (op.type == OpType::invoke) {
      open[op.process] = ops.size();
      ops.push_back({&op, nullptr, OpType::info, i, kNever});
      continue;
    }
    linear::ObjectOp& invoked = ops[open.at(op.process)];
    invoked.completion = &op;
    invoked.outcome = op.type;
    invoked.complete_pos = i;
  }
  std::erase_if(ops, [](const linear::ObjectOp& op) { return op.outcome == OpType::fail; });
  return ops;
}

struct Tally {
  int valid = 0, invalid = 0;
};

void agree(const History& history, const std::string& model, const RefStep& step, const json& initial,
           Tally& tally) {
  LinearOptions options;
  options.model = model;
  options.threads = 1;
  if (initial.is_number()) options.initial_value = initial;
  if (model == "multi-register") options.initial_value = 0;
  bool expected = brute_force_linearizable(history, step, initial);
  CheckResult result = check_linearizable(history, options);
  if (result.verdict != (expected ? Verdict::valid : Verdict::invalid)) {
    json ops = json::array();
    for (const Op& op : history) ops.push_back(op_to_json(op));
    FAIL_CHECK(model << ": brute force says " << (expected ? "valid" : "invalid") << ", checker says "
                     << result.summary << "\n" << ops.dump());
  }
  (expected ? tally.valid : tally.invalid)++;
}

void differential(const std::string& model, const SeqGen& gen, const RefStep& step, const json& initial,
                  int histories, int max_ops = 10) {
  std::mt19937_64 rng(std::hash<std::string>{}(model));
  Tally tally;
  for (int i = 0; i < histories; ++i) {
    History history = stretched_history(gen, initial, 3 + pick(rng, max_ops - 2), rng);
    agree(history, model, step, initial, tally);
    agree(mutated(history, rng), model, step, initial, tally);
    agree(mutated(mutated(history, rng), rng), model, step, initial, tally);
  }
  INFO(model << ": " << tally.valid << " valid, " << tally.invalid << " invalid");
  CHECK(tally.invalid > histories / 10);  // the mutations do break histories
  CHECK(tally.valid > histories);
}

}  // namespace

TEST_CASE("linear differential: cas-register agrees with brute force") {
  differential("cas-register", register_gen, register_step, 0, 600);
}

TEST_CASE("linear differential: register with unique writes (zones, no search) agrees with brute force") {
  differential("register", unique_register_gen, register_step, nullptr, 1500, 14);
  // The zones' own verdict, before the search explains an invalid one.
  std::mt19937_64 rng(1);
  Tally tally;
  for (int i = 0; i < 1500; ++i) {
    History history = stretched_history(unique_register_gen, nullptr, 3 + pick(rng, 12), rng);
    if (pick(rng, 2) == 0) history = mutated(history, rng);
    std::vector<linear::ObjectOp> ops = object_ops(history);
    std::optional<linear::DirectOutcome> zones = linear::check_register_unique_writes(ops, LinearOptions{});
    REQUIRE(zones.has_value());
    bool expected = brute_force_linearizable(history, register_step, nullptr);
    CHECK((zones->verdict == Verdict::valid) == expected);
    (expected ? tally.valid : tally.invalid)++;
  }
  CHECK(tally.invalid > 50);
  History history = stretched_history(unique_register_gen, nullptr, 12, rng);
  LinearOptions options;
  options.model = "register";
  CHECK(check_linearizable(history, options).details["per_key"][0]["method"] == "zones");
}

TEST_CASE("linear differential: mutex agrees with brute force") {
  differential("mutex", mutex_gen, mutex_step, false, 400);
}

TEST_CASE("linear differential: fifo-queue agrees with brute force") {
  differential("fifo-queue", queue_gen, queue_step, json::array(), 400);
}

TEST_CASE("linear differential: set agrees with brute force") {
  differential("set", set_gen, set_step, json::array(), 400);
}

TEST_CASE("linear differential: multi-register agrees with brute force") {
  differential("multi-register", txn_gen, txn_step, json{{"x", 0}, {"y", 0}}, 400);
}

TEST_CASE("linear differential: generated register histories with late info writes") {
  std::mt19937_64 rng(7);
  Tally tally;
  for (std::uint64_t seed = 1; seed <= 600; ++seed) {
    linear::GenerateOptions gen{.seed = seed, .ops = 11, .processes = static_cast<unsigned>(1 + seed % 4), .values = 3,
                                .info_probability = 0.2};
    History history = linear::generate_register_history(gen);
    agree(history, "cas-register", register_step, nullptr, tally);
    agree(mutated(history, rng), "cas-register", register_step, nullptr, tally);
  }
  CHECK(tally.valid >= 600);
  CHECK(tally.invalid > 50);
}

TEST_CASE("linear differential: many concurrent processes, one corrupted read, against brute force") {
  Tally tally;
  int refuted = 0;
  for (std::uint64_t seed = 1; seed <= 1500; ++seed) {
    linear::GenerateOptions gen{.seed = seed, .ops = 14, .processes = static_cast<unsigned>(4 + seed % 11),
                                .values = 3, .info_probability = 0.1, .corrupted_reads = 1};
    History history = linear::generate_register_history(gen);
    agree(history, "cas-register", register_step, nullptr, tally);
    // The refutation alone is sound: whatever it refutes, the brute force refutes too.
    std::vector<linear::ObjectOp> ops = object_ops(history);
    if (linear::refute_register(ops, LinearOptions{})) {
      ++refuted;
      CHECK_FALSE(brute_force_linearizable(history, register_step, nullptr));
    }
  }
  INFO(tally.valid << " valid, " << tally.invalid << " invalid, " << refuted << " refuted without search");
  CHECK(tally.invalid > 300);
  CHECK(tally.valid > 300);
  CHECK(refuted > 100);
}
