// register and cas-register (kv is cas-register per key): one value, read / write / cas.
//
// The state is the interned value itself (0: absent). A failed cas never reaches the model; an
// info cas whose compare does not match simply cannot be placed there, which the search treats
// as "did not take effect at that point".
#include <algorithm>
#include <limits>

#include "checker/linear/models/models.h"

namespace faultline::checker::linear {
namespace {

enum : std::uint32_t { kRead, kWrite, kCas };

class RegisterModel final : public Model {
 public:
  RegisterModel(const LinearOptions& options, bool allow_cas)
      : allow_cas_(allow_cas),
        nil_read_matches_any_(options.nil_read_matches_any),
        initial_(values_.intern(options.initial_value)) {}

  std::optional<Call> parse(const ObjectOp& op) override {
    const std::string& f = op.invoke->f;
    if (f == "read") {
      if (!op.is_ok()) return std::nullopt;  // an unknown read result constrains nothing
      const nlohmann::json& value = op.output();
      if (value.is_null() && nil_read_matches_any_) return std::nullopt;
      return Call{kRead, values_.intern(value), 0};
    }
    if (f == "write") return Call{kWrite, values_.intern(op.input()), 0};
    if (f == "cas" && allow_cas_) {
      const nlohmann::json& value = op.input();
      if (!value.is_array() || value.size() != 2) bad_op(op, "a cas value must be [old, new]");
      return Call{kCas, values_.intern(value[0]), values_.intern(value[1])};
    }
    bad_op(op, std::string("unknown f for the ") + (allow_cas_ ? "cas-register" : "register") +
                   " model (expected read, write" + (allow_cas_ ? ", cas)" : ")"));
  }

  State init() override { return initial_; }

  bool step(State state, const Call& call, State* next) override {
    switch (call.f) {
      case kRead: *next = state; return state == call.a;
      case kWrite: *next = call.a; return true;
      default: *next = call.b; return state == call.a;
    }
  }

  bool observes_only(const Call& call) const override {
    return call.f == kRead || (call.f == kCas && call.a == call.b);
  }

  std::string describe_state(State state) const override {
    return state == 0 ? "absent" : values_.describe(static_cast<std::uint32_t>(state));
  }

  std::string describe_call(const Call& call) const override {
    switch (call.f) {
      case kRead: return "read returning " + values_.describe(call.a);
      case kWrite: return "write " + values_.describe(call.a);
      default: return "cas " + values_.describe(call.a) + " -> " + values_.describe(call.b);
    }
  }

 private:
  ValueTable values_;
  bool allow_cas_;
  bool nil_read_matches_any_;
  std::uint32_t initial_;
};

// Gibbons and Korach's zones ("Testing shared memories", SIAM J. Comput. 1997): with unique
// writes, a read names the write it saw, so the ops of one value (its cluster: the write and its
// reads) must be linearized back to back, write first. A cluster whose earliest completion comes
// before its latest invocation must span [that completion, that invocation] (a forward zone);
// otherwise it can sit at any instant of [latest invocation, earliest completion] (a backward
// zone). The history is linearizable iff no read completes before its write is invoked, no two
// forward zones overlap and no backward zone lies inside a forward zone. Times are history
// positions (distinct); the initial value is a write before everything.
using Time = std::int64_t;
constexpr Time kForever = std::numeric_limits<Time>::max();  // an info write never completes

struct Cluster {
  const ObjectOp* write = nullptr;  // null: the initial value
  std::vector<const ObjectOp*> reads;
  Time min_end = kForever, max_start = -1;  // over the write and the reads
  const ObjectOp* min_end_op = nullptr;      // the op that completes first
  const ObjectOp* max_start_op = nullptr;    // the op invoked last
};

Time start_of(const ObjectOp& op) { return static_cast<Time>(op.invoke_pos); }
Time end_of(const ObjectOp& op) { return op.is_ok() ? static_cast<Time>(op.complete_pos) : kForever; }

void add_to(Cluster& cluster, const ObjectOp& op) {
  if (end_of(op) < cluster.min_end) {
    cluster.min_end = end_of(op);
    cluster.min_end_op = &op;
  }
  if (start_of(op) > cluster.max_start) {
    cluster.max_start = start_of(op);
    cluster.max_start_op = &op;
  }
}

std::vector<const ObjectOp*> cluster_ops(const Cluster& cluster) {
  std::vector<const ObjectOp*> ops;
  if (cluster.write != nullptr) ops.push_back(cluster.write);
  ops.insert(ops.end(), cluster.reads.begin(), cluster.reads.end());
  return ops;
}

DirectOutcome invalid(std::string reason, std::vector<const ObjectOp*> involved) {
  return {Verdict::invalid, std::move(reason), std::move(involved)};
}

}  // namespace

std::optional<DirectOutcome> check_register_unique_writes(std::span<const ObjectOp> ops,
                                                          const LinearOptions& options) {
  ValueTable values;                          // id 0: absent
  constexpr std::size_t kNoCluster = kNever;
  std::vector<std::size_t> cluster_of;        // value id -> its cluster
  std::vector<Cluster> clusters(1);           // clusters[0]: the initial value
  auto cluster_slot = [&](std::uint32_t id) -> std::size_t& {
    if (id >= cluster_of.size()) cluster_of.resize(id + 1, kNoCluster);
    return cluster_of[id];
  };
  std::uint32_t initial = values.intern(options.initial_value);
  cluster_slot(initial) = 0;
  for (const ObjectOp& op : ops) {
    if (op.invoke->f != "write") continue;
    std::size_t& slot = cluster_slot(values.intern(op.input()));
    if (op.input().is_null() || slot != kNoCluster)
      return std::nullopt;  // a value written twice (or the initial one): zones do not apply
    slot = clusters.size();
    clusters.emplace_back().write = &op;
  }
  auto value_text = [&](std::uint32_t id) { return id == 0 ? std::string("absent") : values.describe(id); };
  for (const ObjectOp& op : ops) {
    const std::string& f = op.invoke->f;
    if (f == "write") continue;
    if (f != "read") return std::nullopt;  // the search names the bad op
    if (!op.is_ok() || (op.output().is_null() && options.nil_read_matches_any)) continue;
    std::uint32_t id = values.intern(op.output());
    std::size_t at = cluster_slot(id);
    if (at == kNoCluster) {
      return invalid("read returning " + value_text(id) + " (" + op.describe() +
                         ") cannot take effect: no op wrote that value",
                     {&op});
    }
    Cluster& cluster = clusters[at];
    if (cluster.write != nullptr && end_of(op) < start_of(*cluster.write)) {
      return invalid("read returning " + value_text(id) + " (" + op.describe() +
                         ") completed before the write of that value (" + cluster.write->describe() +
                         ") was invoked",
                     {cluster.write, &op});
    }
    cluster.reads.push_back(&op);
  }
  struct Zone {
    Time low, high;
    std::size_t cluster;
  };
  std::vector<Zone> forward, backward;
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    Cluster& cluster = clusters[i];
    if (cluster.write == nullptr && cluster.reads.empty()) continue;  // nobody saw the initial value
    if (cluster.write == nullptr) {
      cluster.min_end = -1;  // the initial "write" completes before everything
    } else {
      if (!cluster.write->is_ok() && cluster.reads.empty()) continue;  // an info write that never showed
      add_to(cluster, *cluster.write);
    }
    for (const ObjectOp* read : cluster.reads) add_to(cluster, *read);
    if (cluster.min_end < cluster.max_start) forward.push_back({cluster.min_end, cluster.max_start, i});
    else backward.push_back({cluster.max_start, cluster.min_end, i});
  }
  auto value_of = [&](const Zone& zone) {
    const Cluster& cluster = clusters[zone.cluster];
    return value_text(cluster.write == nullptr ? initial : values.intern(cluster.write->input()));
  };
  auto span_text = [&](const Zone& zone) {
    const Cluster& cluster = clusters[zone.cluster];
    std::string text = "the ops of " + value_of(zone) + " must span from before ";
    text += cluster.min_end_op != nullptr ? cluster.min_end_op->describe() + " completed" : "the first op";
    return text + " to after " + cluster.max_start_op->describe() + " was invoked";
  };
  auto involved = [&](const Zone& a, const Zone& b) {
    std::vector<const ObjectOp*> both = cluster_ops(clusters[a.cluster]);
    std::vector<const ObjectOp*> other = cluster_ops(clusters[b.cluster]);
    both.insert(both.end(), other.begin(), other.end());
    return both;
  };
  auto by_low = [](const Zone& a, const Zone& b) { return a.low < b.low; };
  std::sort(forward.begin(), forward.end(), by_low);
  for (std::size_t i = 1; i < forward.size(); ++i) {
    if (forward[i].low < forward[i - 1].high) {
      return invalid("the values " + value_of(forward[i - 1]) + " and " + value_of(forward[i]) +
                         " overlap: " + span_text(forward[i - 1]) + ", and " + span_text(forward[i]) +
                         "; one value's write would have to fall between the other's write and reads",
                     involved(forward[i - 1], forward[i]));
    }
  }
  for (const Zone& zone : backward) {
    // The forward zone starting last before this one: the only one that can contain it, since
    // forward zones are disjoint.
    auto after = std::upper_bound(forward.begin(), forward.end(), zone, by_low);
    if (after == forward.begin()) continue;
    const Zone& outer = *std::prev(after);
    if (zone.high < outer.high) {
      const Cluster& cluster = clusters[zone.cluster];
      return invalid("the ops of " + value_of(zone) + " (" + std::to_string(cluster_ops(cluster).size()) +
                         ") all run within the span of " + value_of(outer) + ": " + span_text(outer) +
                         ", so " + value_of(zone) + " would overwrite " + value_of(outer) + " before its last read",
                     involved(outer, zone));
    }
  }
  return DirectOutcome{};
}

// The necessary condition behind refute_register. The value an op reads (a read, or an ok cas's
// compare) was left by the last op that took effect before it: some write or cas of that value
// (or the initial value) invoked before the reader completed. Such a producer p cannot be that
// last op when an ok write or cas w was invoked after p completed and completed before the
// reader was invoked: real time puts w between them in every linearization. Every candidate
// is excluded at once when one such w follows the candidate that completes last (completing
// later only makes a candidate harder to exclude), so each reader costs two binary searches:
// a prefix maximum of the candidates' completions, and a suffix minimum of the ok mutations'
// completions by invocation. An info producer never completes, so it is never excluded.
namespace {

struct Span {
  Time start = 0, end = 0;
  const ObjectOp* op = nullptr;  // null: the initial value, before everything
};

class StaleReads {
 public:
  StaleReads(std::span<const ObjectOp> ops, const LinearOptions& options) : ops_(ops), options_(options) {}

  std::optional<DirectOutcome> run() {
    if (!collect()) return std::nullopt;  // an op the model will refuse: the search names it
    // Candidates per value, by invocation, each with the latest completion so far.
    for (std::vector<Span>& spans : producers_) {
      for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].end < spans[i - 1].end) spans[i].end = spans[i - 1].end, spans[i].op = spans[i - 1].op;
    }
    // Ok mutations by invocation (already in that order), each with the earliest completion from
    // there on.
    for (std::size_t i = mutations_.size(); i-- > 1;)
      if (mutations_[i].end < mutations_[i - 1].end) mutations_[i - 1].end = mutations_[i].end, mutations_[i - 1].op = mutations_[i].op;
    for (const Reader& reader : readers_) {
      std::optional<DirectOutcome> refuted = refute(reader);
      if (refuted) return refuted;
    }
    return std::nullopt;
  }

 private:
  struct Reader {
    const ObjectOp* op;
    std::uint32_t value;
  };

  std::vector<Span>& producers_of(std::uint32_t value) {
    if (value >= producers_.size()) producers_.resize(value + 1);
    return producers_[value];
  }

  // False when an op has an f or a shape its model refuses (a cas in a register): the search
  // reports it.
  bool collect() {
    initial_ = values_.intern(options_.initial_value);
    producers_of(initial_).push_back({-1, -1, nullptr});
    for (const ObjectOp& op : ops_) {
      const std::string& f = op.invoke->f;
      Span span{start_of(op), end_of(op), &op};
      if (f == "read") {
        if (!op.is_ok() || (op.output().is_null() && options_.nil_read_matches_any)) continue;
        readers_.push_back({&op, values_.intern(op.output())});
      } else if (f == "write") {
        producers_of(values_.intern(op.input())).push_back(span);
        if (op.is_ok()) mutations_.push_back(span);
      } else if (f == "cas" && options_.model != "register" && op.input().is_array() && op.input().size() == 2) {
        std::uint32_t expected = values_.intern(op.input()[0]), written = values_.intern(op.input()[1]);
        producers_of(written).push_back(span);
        if (!op.is_ok()) continue;
        mutations_.push_back(span);
        // A cas that writes what it compared is its own producer; it is not refuted here.
        if (expected != written) readers_.push_back({&op, expected});
      } else {
        return false;
      }
    }
    std::sort(readers_.begin(), readers_.end(),
              [](const Reader& a, const Reader& b) { return a.op->invoke_pos < b.op->invoke_pos; });
    return true;
  }

  std::optional<DirectOutcome> refute(const Reader& reader) const {
    static const std::vector<Span> kNone;
    const std::vector<Span>& candidates = reader.value < producers_.size() ? producers_[reader.value] : kNone;
    Time start = start_of(*reader.op), end = end_of(*reader.op);
    auto after_last = std::lower_bound(candidates.begin(), candidates.end(), end,
                                       [](const Span& span, Time time) { return span.start < time; });
    // The texts are built only for a refuted read: this runs for every read of a valid history.
    auto what = [&] { return reader.op->describe() + " cannot take effect: "; };
    auto value = [&] { return reader.value == 0 ? std::string("absent") : values_.describe(reader.value); };
    if (after_last == candidates.begin()) {
      return DirectOutcome{Verdict::invalid,
                           what() + "no write or cas of " + value() + " was invoked before it completed",
                           {reader.op}, reader.op};
    }
    const Span& latest = *std::prev(after_last);  // the candidate completing last
    if (latest.end == kForever) return std::nullopt;
    auto blocker = std::upper_bound(mutations_.begin(), mutations_.end(), latest.end,
                                    [](Time time, const Span& span) { return time < span.start; });
    if (blocker == mutations_.end() || blocker->end >= start) return std::nullopt;
    bool with_initial = reader.value == initial_;
    std::size_t count = static_cast<std::size_t>(after_last - candidates.begin()) - (with_initial ? 1 : 0);
    std::string sources = latest.op == nullptr
                              ? value() + " was only the initial value"
                              : "every write or cas of " + value() + " invoked before it completed (" +
                                    std::to_string(count) + (with_initial ? ", and the initial value" : "") +
                                    ") had completed when " + latest.op->describe() + " did";
    std::vector<const ObjectOp*> involved{reader.op};
    if (latest.op != nullptr) involved.push_back(latest.op);
    involved.push_back(blocker->op);
    return DirectOutcome{Verdict::invalid,
                         what() + sources + ", and " + blocker->op->describe() +
                             " was invoked after that and completed before it was invoked: the value read had been "
                             "overwritten",
                         std::move(involved), reader.op};
  }

  std::span<const ObjectOp> ops_;
  const LinearOptions& options_;
  ValueTable values_;                          // id 0: absent
  std::uint32_t initial_ = 0;
  std::vector<std::vector<Span>> producers_;   // value id -> writes and cas of it (+ the initial value)
  std::vector<Span> mutations_;                // ok writes and cas
  std::vector<Reader> readers_;
};

}  // namespace

std::optional<DirectOutcome> refute_register(std::span<const ObjectOp> ops, const LinearOptions& options) {
  return StaleReads(ops, options).run();
}

std::unique_ptr<Model> make_register(const LinearOptions& options) {
  return std::make_unique<RegisterModel>(options, /*allow_cas=*/false);
}

std::unique_ptr<Model> make_cas_register(const LinearOptions& options) {
  return std::make_unique<RegisterModel>(options, /*allow_cas=*/true);
}

}  // namespace faultline::checker::linear
