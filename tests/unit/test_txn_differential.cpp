// Differential test: the checker against brute force over serial orders, on small random
// histories from a simulated serializable store and on mutations of them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "checker/txn/elle.h"
#include "checker/txn/simulate.h"

using namespace faultline;
using checker::Verdict;
using nlohmann::json;

namespace {

struct BruteTxn {
  json mops;
  bool committed;  // ok: must appear, and its reads must match; info: may appear or not
};

// The txns that may have taken effect: completions that are ok or info.
std::vector<BruteTxn> possible_txns(const History& h) {
  std::vector<BruteTxn> out;
  for (const Op& op : h)
    if (op.type == OpType::ok || op.type == OpType::info) out.push_back({op.value, op.type == OpType::ok});
  return out;
}

bool runs_serially(const std::vector<BruteTxn>& txns, const std::vector<std::size_t>& order) {
  std::map<std::int64_t, std::vector<std::int64_t>> state;
  for (std::size_t t : order) {
    for (const json& mop : txns[t].mops) {
      auto& list = state[mop[1].get<std::int64_t>()];
      if (mop[0] == "append") {
        list.push_back(mop[2].get<std::int64_t>());
      } else if (txns[t].committed && json(list) != mop[2]) {
        return false;
      }
    }
  }
  return true;
}

// Serializable iff some subset of info txns plus all ok txns runs serially in some order.
bool brute_force_serializable(const History& h) {
  auto txns = possible_txns(h);
  std::vector<std::size_t> info;
  for (std::size_t i = 0; i < txns.size(); ++i)
    if (!txns[i].committed) info.push_back(i);
  for (std::size_t subset = 0; subset < (std::size_t{1} << info.size()); ++subset) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < txns.size(); ++i) {
      auto at = std::find(info.begin(), info.end(), i);
      if (at == info.end() || (subset >> (at - info.begin()) & 1)) order.push_back(i);
    }
    do {
      if (runs_serially(txns, order)) return true;
    } while (std::next_permutation(order.begin(), order.end()));
  }
  return false;
}

// Edits one read in an ok completion: drop, swap, or borrow another read's value.
bool mutate(History& h, std::mt19937_64& rng) {
  std::vector<std::pair<std::size_t, std::size_t>> reads;  // (op, mop)
  for (std::size_t i = 0; i < h.size(); ++i)
    if (h[i].type == OpType::ok)
      for (std::size_t m = 0; m < h[i].value.size(); ++m)
        if (h[i].value[m][0] == "r") reads.emplace_back(i, m);
  if (reads.empty()) return false;
  auto [op, m] = reads[rng() % reads.size()];
  json& value = h[op].value[m][2];
  switch (rng() % 4) {
    case 0:
      if (value.empty()) return false;
      value.erase(value.size() - 1);
      break;
    case 1:
      if (value.size() < 2) return false;
      std::swap(value[0], value[value.size() - 1]);
      break;
    case 2: {
      auto [op2, m2] = reads[rng() % reads.size()];
      if (h[op2].value[m2][1] != h[op].value[m][1]) return false;
      value = h[op2].value[m2][2];
      break;
    }
    default:
      value.push_back(1);  // maybe a value from a failed txn, a later one, or nobody's
  }
  return true;
}

}  // namespace

TEST_CASE("txn differential: checker agrees with brute force over serial orders") {
  std::mt19937_64 rng(20240601);
  int valid = 0, invalid = 0, mutated = 0;
  for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
    checker::txn::SimulationOptions o;
    o.txn_count = 3 + seed % 4;
    o.concurrency = 3;
    o.active_keys = 2;
    o.appends_per_key_max = 4;
    o.mops_per_txn_max = 3;
    o.fail_probability = 0.1;
    o.info_probability = 0.1;
    o.seed = seed;
    History h = checker::txn::simulate_list_append(o);
    INFO("seed " << seed);
    CHECK(checker::check_transactions(h, {"list-append", "strict-serializable", 0}).verdict ==
          Verdict::valid);
    if (seed % 2 == 0 && mutate(h, rng)) ++mutated;
    bool expected = brute_force_serializable(h);
    auto r = checker::check_transactions(h, {"list-append", "serializable", 0});
    INFO("history value dump: " << [&] {
      json all = json::array();
      for (const Op& op : h) all.push_back(op_to_json(op));
      return all.dump();
    }());
    INFO(r.summary);
    CHECK((r.verdict == Verdict::valid) == expected);
    (expected ? valid : invalid)++;
  }
  WARN("differential: " << valid << " serializable, " << invalid << " not (" << mutated
                        << " mutated)");
  CHECK(invalid > 20);
}
