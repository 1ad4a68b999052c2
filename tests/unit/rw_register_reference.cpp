#include "rw_register_reference.h"

#include <algorithm>
#include <map>
#include <vector>

namespace faultline::test::rw_reference {

namespace {

using nlohmann::json;
using Value = std::optional<std::int64_t>;   // nullopt: nil
using State = std::map<std::string, Value>;  // key (as JSON text) -> value; absent: initial

constexpr std::size_t kNoPosition = SIZE_MAX;

struct MicroOp {
  bool write = false;
  std::string key;
  Value value;
};

struct Txn {
  std::vector<MicroOp> mops;
  OpType outcome = OpType::info;  // no completion: info
  std::int64_t process = 0;
  std::size_t invoke_position = 0;
  std::size_t complete_position = kNoPosition;
};

std::vector<MicroOp> micro_ops(const json& value) {
  std::vector<MicroOp> out;
  for (const json& m : value) {
    Value v;
    if (!m[2].is_null()) v = m[2].get<std::int64_t>();
    out.push_back({m[0] == "w", m[1].dump(), v});
  }
  return out;
}

// Pairs each invocation with its process's next completion. An ok completion carries the
// values read; other txns keep their invocation's micro-ops.
std::vector<Txn> txns_of(const History& history) {
  std::vector<Txn> txns;
  std::map<std::int64_t, std::size_t> open;  // process -> its txn in flight
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    if (op.type == OpType::invoke) {
      open[op.process] = txns.size();
      txns.push_back({micro_ops(op.value), OpType::info, op.process, i, kNoPosition});
      continue;
    }
    auto it = open.find(op.process);
    if (it == open.end()) {  // a completion without an invocation: invoked right there
      it = open.emplace(op.process, txns.size()).first;
      txns.push_back({{}, OpType::info, op.process, i, kNoPosition});
    }
    Txn& t = txns[it->second];
    open.erase(it);
    t.outcome = op.type;
    t.complete_position = i;
    if (op.type == OpType::ok || t.mops.empty()) t.mops = micro_ops(op.value);
  }
  return txns;
}

bool writes_common_key(const Txn& a, const Txn& b) {
  for (const MicroOp& x : a.mops)
    for (const MicroOp& y : b.mops)
      if (x.write && y.write && x.key == y.key) return true;
  return false;
}

// Every txn that commits must see a committed `before` (session or realtime order).
bool must_see(const Txn& before, const Txn& after, const Claim& claim) {
  if (before.invoke_position >= after.invoke_position) return false;
  if (claim.session_order && before.process == after.process) return true;
  return claim.realtime_order && before.outcome == OpType::ok &&
         before.complete_position < after.invoke_position;
}

// Searches commit orders of one set of committed txns, depth first. A txn's start point only
// decides what it reads and with whom it is concurrent, never what later txns read (that is
// the commit order alone), so each step only asks whether the next txn has some start point
// that works.
class OrderSearch {
 public:
  OrderSearch(const std::vector<Txn>& txns, std::vector<bool> committed, const Claim& claim,
              Value initial)
      : txns_(txns),
        committed_(std::move(committed)),
        claim_(claim),
        initial_(initial),
        position_(txns.size(), kNoPosition) {
    states_.emplace_back();
    for (bool c : committed_) remaining_ += c;
  }

  bool exists() {
    if (remaining_ == 0) return true;
    for (std::size_t j = 0; j < txns_.size(); ++j) {
      if (!committed_[j] || position_[j] != kNoPosition || !can_commit_next(j)) continue;
      commit(j);
      if (exists()) return true;
      uncommit(j);
    }
    return false;
  }

 private:
  bool can_commit_next(std::size_t j) const {
    const std::size_t now = order_.size();
    std::size_t start_min = claim_.visibility == Visibility::serial ? now : 0;
    for (std::size_t i = 0; i < txns_.size(); ++i) {
      if (!committed_[i] || i == j) continue;
      bool seen = must_see(txns_[i], txns_[j], claim_);
      if (seen && position_[i] == kNoPosition) return false;  // it must commit first
      if (position_[i] == kNoPosition) continue;
      // First committer wins: j must start after i committed.
      if (seen || writes_common_key(txns_[i], txns_[j]))
        start_min = std::max(start_min, position_[i] + 1);
    }
    for (std::size_t start = start_min; start <= now; ++start)
      if (reads_match(txns_[j], states_[start])) return true;
    return false;
  }

  bool reads_match(const Txn& t, const State& seen) const {
    if (t.outcome != OpType::ok) return true;
    State own;
    std::vector<std::string> touched;
    for (const MicroOp& m : t.mops) {
      bool first = std::find(touched.begin(), touched.end(), m.key) == touched.end();
      if (first) touched.push_back(m.key);
      if (m.write) {
        own[m.key] = m.value;
        continue;
      }
      if (claim_.reads == ReadsChecked::external && !first) continue;
      if (m.value != value_of(m.key, own, seen)) return false;
    }
    return true;
  }

  Value value_of(const std::string& key, const State& own, const State& seen) const {
    if (auto it = own.find(key); it != own.end()) return it->second;
    if (auto it = seen.find(key); it != seen.end()) return it->second;
    return initial_;
  }

  void commit(std::size_t j) {
    position_[j] = order_.size();
    order_.push_back(j);
    State next = states_.back();
    for (const MicroOp& m : txns_[j].mops)
      if (m.write) next[m.key] = m.value;
    states_.push_back(std::move(next));
    --remaining_;
  }

  void uncommit(std::size_t j) {
    position_[j] = kNoPosition;
    order_.pop_back();
    states_.pop_back();
    ++remaining_;
  }

  const std::vector<Txn>& txns_;
  const std::vector<bool> committed_;
  const Claim& claim_;
  const Value initial_;
  std::vector<std::size_t> position_;  // in the commit order; kNoPosition: not yet committed
  std::vector<std::size_t> order_;
  std::vector<State> states_;  // states_[k]: after the first k commits
  std::size_t remaining_ = 0;
};

}  // namespace

std::optional<Claim> claim_for(const std::string& model) {
  using V = Visibility;
  static const std::map<std::string, Claim> claims = {
      {"repeatable-read", {V::serial, ReadsChecked::external, false, false}},
      {"snapshot-isolation", {V::snapshot, ReadsChecked::all, false, false}},
      {"serializable", {V::serial, ReadsChecked::all, false, false}},
      {"strong-session-snapshot-isolation", {V::snapshot, ReadsChecked::all, true, false}},
      {"strong-snapshot-isolation", {V::snapshot, ReadsChecked::all, true, true}},
      {"strong-session-serializable", {V::serial, ReadsChecked::all, true, false}},
      {"strict-serializable", {V::serial, ReadsChecked::all, true, true}},
  };
  auto it = claims.find(model);
  if (it == claims.end()) return std::nullopt;
  return it->second;
}

bool allows(const History& history, const Claim& claim, std::optional<std::int64_t> initial_value) {
  std::vector<Txn> txns = txns_of(history);
  std::vector<std::size_t> info;
  for (std::size_t i = 0; i < txns.size(); ++i)
    if (txns[i].outcome == OpType::info) info.push_back(i);
  for (std::size_t subset = 0; subset < (std::size_t{1} << info.size()); ++subset) {
    std::vector<bool> committed(txns.size());
    for (std::size_t i = 0; i < txns.size(); ++i) committed[i] = txns[i].outcome == OpType::ok;
    for (std::size_t b = 0; b < info.size(); ++b) committed[info[b]] = (subset >> b) & 1;
    if (OrderSearch(txns, std::move(committed), claim, initial_value).exists()) return true;
  }
  return false;
}

}  // namespace faultline::test::rw_reference
