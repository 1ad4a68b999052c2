// Shrinking invalid register histories: the counterexample is itself not linearizable, small,
// 1-minimal when time allows, and honest (no kept op observes a value only a dropped op made).
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <set>
#include <vector>

#include "checker/linear/shrink.h"
#include "tests/unit/linear_builder.h"

using namespace faultline;
using namespace faultline::checker;
using faultline::testing::HistoryBuilder;
using nlohmann::json;

namespace {

// Whether keeping only `kept` (invocation indexes) of `key`'s ops keeps the proof: no dropped op
// can be the mutation a kept observer saw in a linearization: one invoked before the observer
// completed, and completed after the invocation of every ok mutation that completed before the
// observer began. Cut at `cut_ns` (-1: not), ops invoked after it are gone and ops still running
// then are pending: a pending read observes nothing. Written apart from
// checker/linear/shrink.cpp, as the reference.
bool honest(const History& history, const std::string& key, const std::set<std::int64_t>& kept,
            std::int64_t cut_ns = -1) {
  struct Span {
    json value;
    std::int64_t invoke_ns, done_ns;  // done_ns: max unless ok
    bool kept, mutation, observer;
  };
  std::vector<Span> spans;
  for (const PairedOp& op : pair_ops(history, "h")) {
    const Op& in = history[op.invoke];
    OpType outcome = op.outcome(history);
    if (in.key != key || outcome == OpType::fail || (cut_ns >= 0 && in.time_ns > cut_ns)) continue;
    std::int64_t done_ns = outcome == OpType::ok ? history[*op.completion].time_ns : INT64_MAX;
    bool keep = kept.contains(in.index);
    bool pending = cut_ns >= 0 && done_ns > cut_ns;
    if (in.f == "read" && outcome == OpType::ok && !pending)
      spans.push_back({history[*op.completion].value, in.time_ns, done_ns, keep, false, true});
    if (in.f == "write") spans.push_back({in.value, in.time_ns, done_ns, keep, true, false});
    if (in.f == "cas") {
      spans.push_back({in.value[0], in.time_ns, pending ? INT64_MAX : done_ns, keep, false, true});
      spans.push_back({in.value[1], in.time_ns, done_ns, keep, true, false});
    }
  }
  for (const Span& o : spans) {
    if (!o.kept || !o.observer) continue;
    std::int64_t after_ns = INT64_MIN;
    for (const Span& x : spans)
      if (x.mutation && x.done_ns < o.invoke_ns) after_ns = std::max(after_ns, x.invoke_ns);
    for (const Span& m : spans)
      if (!m.kept && m.mutation && m.value == o.value && m.invoke_ns <= o.done_ns &&
          m.done_ns >= after_ns)
        return false;
  }
  return true;
}

// The counterexample's claims, checked from the outside.
void check_counterexample(const History& history, const CheckResult& result, const LinearOptions& options) {
  REQUIRE(result.details.contains("counterexample"));
  const json& cx = result.details["counterexample"];
  History small = counterexample_history(history, cx);
  LinearOptions no_shrink = options;
  no_shrink.shrink_budget_s = 0;
  CHECK(check_linearizable(small, no_shrink).verdict == Verdict::invalid);
  std::set<std::int64_t> kept;
  for (const auto& i : cx["ops"]) kept.insert(i.get<std::int64_t>());
  CHECK(honest(history, cx["key"].get<std::string>(), kept, cx["cut_ns"].get<std::int64_t>()));
}

// A generated register history of `ops` ops by 4 processes over values 0-2, 10 % info.
History small_register_history(std::uint64_t seed, std::size_t ops) {
  linear::GenerateOptions g;
  g.seed = seed;
  g.ops = ops;
  g.processes = 4;
  g.values = 3;
  g.info_probability = 0.1;
  return linear::generate_register_history(g);
}

}  // namespace

TEST_CASE("shrink: a stale read among a hundred ops shrinks to the writes and read that show it") {
  HistoryBuilder b;
  for (int v = 1; v <= 40; ++v) {
    b.op(0, "write", v, nullptr, "k");
    b.op(1, "read", nullptr, v, "k");
    b.op(2, "read", nullptr, nullptr, "other");
  }
  b.op(1, "read", nullptr, 17, "k");  // stale: 40 was written and read before this began
  for (int v = 41; v <= 50; ++v) b.op(0, "write", v, nullptr, "k");
  LinearOptions options;
  options.model = "cas-register";
  CheckResult result = check_linearizable(b.history(), options);
  REQUIRE(result.verdict == Verdict::invalid);
  check_counterexample(b.history(), result, options);
  const json& cx = result.details["counterexample"];
  INFO(cx.dump());
  CHECK(cx["minimal"] == true);
  CHECK(cx["from_ops"] == 131);
  // write 17, a later write (the 18th), and the stale read.
  CHECK(cx["ops"].size() == 3);
}

TEST_CASE("shrink: valid histories and unsupported models get no counterexample") {
  HistoryBuilder b;
  b.op(0, "write", 1, nullptr).op(1, "read", nullptr, 1);
  LinearOptions options;
  options.model = "cas-register";
  CHECK(!check_linearizable(b.history(), options).details.contains("counterexample"));
  HistoryBuilder q;
  q.op(0, "enqueue", 1, nullptr).op(1, "dequeue", nullptr, 2);
  options.model = "fifo-queue";
  CheckResult queue = check_linearizable(q.history(), options);
  CHECK(queue.verdict == Verdict::invalid);
  CHECK(!queue.details.contains("counterexample"));
}

TEST_CASE("shrink: Knossos' invalid cas-register histories shrink to a fifth or less") {
  std::filesystem::path dir = FAULTLINE_CORPUS_DIR "/knossos/data/cas-register/bad";
  if (!std::filesystem::exists(dir)) {
    WARN("corpus absent (" << dir << "): skipped");
    return;
  }
  for (const char* name : {"cas-failure.edn", "rethink-fail.edn", "rethink-fail-smaller.edn",
                           "bad-analysis.edn", "mongodb-v0-ack-rollback-6.edn"}) {
    INFO(name);
    History history = read_history(dir / name);
    LinearOptions options;
    options.model = "cas-register";
    options.initial_value = 0;
    CheckResult result = check_linearizable(history, options);
    REQUIRE(result.verdict == Verdict::invalid);
    check_counterexample(history, result, options);
    INFO(result.details["counterexample"].dump());
    // Values repeat (0-4), so every earlier write of a value a kept op observes must stay:
    // honesty, not the search, bounds the size here.
    const json& cx = result.details["counterexample"];
    CHECK(cx["ops"].size() * 5 <= cx["from_ops"].get<std::size_t>());
  }
}

TEST_CASE("shrink: random invalid histories shrink to honest, invalid counterexamples") {
  int shrunk = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    History history = small_register_history(seed, 30);
    // Corrupt one ok read: a value it cannot have seen makes most histories invalid.
    for (auto it = history.rbegin(); it != history.rend(); ++it)
      if (it->f == "read" && it->type == OpType::ok) {
        it->value = (it->value.is_null() ? 0 : it->value.get<int>() + 1) % 3;
        break;
      }
    LinearOptions options;
    options.model = "cas-register";
    CheckResult result = check_linearizable(history, options);
    if (result.verdict != Verdict::invalid) continue;
    INFO("seed " << seed);
    check_counterexample(history, result, options);
    CHECK(result.details["counterexample"]["minimal"] == true);
    ++shrunk;
  }
  CHECK(shrunk > 50);
}

TEST_CASE("shrink: whatever the honesty rule lets go, a linearizable history stays linearizable") {
  int restrictions = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    History history = small_register_history(seed, 14);
    LinearOptions options;
    options.model = "cas-register";
    if (check_linearizable(history, options).verdict != Verdict::valid) continue;
    std::mt19937_64 random(seed);
    for (int trial = 0; trial < 30; ++trial) {
      std::set<std::int64_t> kept;
      for (const PairedOp& op : pair_ops(history, "h"))
        if (random() % 2) kept.insert(history[op.invoke].index);
      if (!honest(history, "", kept)) continue;
      ++restrictions;
      History restricted = counterexample_history(history, {{"ops", kept}, {"cut_ns", -1}});
      INFO("seed " << seed << ", kept " << json(kept).dump());
      CHECK(check_linearizable(restricted, options).verdict == Verdict::valid);
    }
  }
  CHECK(restrictions > 1000);
}
