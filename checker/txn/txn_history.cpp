#include "checker/txn/txn_history.h"

#include <algorithm>
#include <unordered_map>

#include "core/text.h"

namespace faultline::checker::txn {

using nlohmann::json;

namespace {

const std::string kSource = kInMemoryHistory;

bool is_mop_list(const json& value) {
  if (!value.is_array() || value.empty()) return false;
  for (const json& mop : value)
    if (!mop.is_array()) return false;
  return true;
}

// Interns keys: integer and string keys live in separate tables, so 1 and "1" stay distinct.
class KeyTable {
 public:
  explicit KeyTable(std::vector<std::string>& names) : names_(names) {}

  std::uint32_t intern(const json& key) {
    if (key.is_number_integer()) {
      auto [it, added] = ints_.try_emplace(key.get<std::int64_t>(), next());
      if (added) names_.push_back(std::to_string(it->first));
      return it->second;
    }
    if (key.is_string()) {
      const auto& text = key.get_ref<const std::string&>();
      auto [it, added] = strings_.try_emplace(text, next());
      if (added) names_.push_back(text);
      return it->second;
    }
    throw std::invalid_argument("a key must be an integer or a string, not " +
                                printable(key.dump()));
  }

 private:
  std::uint32_t next() const { return static_cast<std::uint32_t>(names_.size()); }
  std::vector<std::string>& names_;
  std::unordered_map<std::int64_t, std::uint32_t> ints_;
  std::unordered_map<std::string, std::uint32_t> strings_;
};

std::int64_t integer_value(const json& v, const json& mop) {
  if (!v.is_number_integer())
    throw std::invalid_argument("written values must be integers: " + printable(mop.dump()));
  return v.get<std::int64_t>();
}

class Compiler {
 public:
  Compiler(TxnHistory& out) : out_(out), keys_(out.key_names) {}

  void add_mop(const json& mop, std::uint32_t txn) {
    if (!mop.is_array() || mop.size() != 3 || !mop[0].is_string())
      throw std::invalid_argument("a micro-op must be [f key value], not " +
                                  printable(mop.dump()));
    const auto& f = mop[0].get_ref<const std::string&>();
    Mop m;
    m.key = keys_.intern(mop[1]);
    m.txn = txn;
    const json& v = mop[2];
    bool append = out_.workload == Workload::list_append;
    if (f == (append ? "append" : "w")) {
      m.kind = append ? MopKind::append : MopKind::write;
      m.value = integer_value(v, mop);
    } else if (f == "r") {
      m.kind = MopKind::read;
      m.read_nil = v.is_null();
      if (m.read_nil) {
        // nothing more: an invocation's placeholder, or the initial state
      } else if (append) {
        add_list(v, mop, m);
      } else {
        m.value = integer_value(v, mop);
      }
    } else {
      throw std::invalid_argument(std::string("unknown micro-op \"") + f + "\" for " +
                                  (append ? "list-append (append, r): " : "rw-register (w, r): ") +
                                  mop.dump());
    }
    out_.mops.push_back(m);
  }

 private:
  void add_list(const json& v, const json& mop, Mop& m) {
    if (!v.is_array())
      throw std::invalid_argument("a list read must be a list or nil: " + printable(mop.dump()));
    m.list_begin = static_cast<std::uint32_t>(out_.elements.size());
    m.list_size = static_cast<std::uint32_t>(v.size());
    for (const json& e : v) out_.elements.push_back(integer_value(e, mop));
  }

  TxnHistory& out_;
  KeyTable keys_;
};

TxnStatus status_of(OpType type) {
  switch (type) {
    case OpType::ok: return TxnStatus::ok;
    case OpType::fail: return TxnStatus::fail;
    default: return TxnStatus::info;
  }
}

bool is_txn(const Op& op) {
  return op.f == "txn" || op.f.empty() || is_mop_list(op.value);
}

// The pairing slot of a client invocation that is not a txn.
constexpr std::size_t kNotTxn = SIZE_MAX;

}  // namespace

class TxnCompiler::Impl {
 public:
  Impl(Workload workload, std::string source)
      : compiler_(out_), source_(source), pairing_(std::move(source)) {
    out_.workload = workload;
  }

  void take(const Op& op, const OpPosition& at, json* movable_value) {
    std::uint64_t position = position_++;  // nemesis entries count: real time is by position
    if (op.is_nemesis()) return;
    if (op.type == OpType::invoke) {
      bool txn = is_txn(op);
      auto id = static_cast<std::uint32_t>(out_.txns.size());
      pairing_.invoke(op, txn ? id : kNotTxn, at);
      if (!txn) return;
      out_.txns.push_back(started(op, position));
      pending_.emplace(id, Pending{movable_value ? std::move(*movable_value) : op.value, at.line});
      return;
    }
    auto slot = pairing_.complete(op);
    if (!slot) {  // a completion with no invocation: a txn known only by its outcome
      if (!is_txn(op)) return;
      auto id = static_cast<std::uint32_t>(out_.txns.size());
      out_.txns.push_back(started(op, position));
      complete(id, op, position);
      add_mops(id, op.value, at.line);
      return;
    }
    if (*slot == kNotTxn) return;
    auto id = static_cast<std::uint32_t>(*slot);
    complete(id, op, position);
    auto it = pending_.find(id);
    // The completion carries what was read; an info or fail completion may carry nothing useful.
    if (is_mop_list(op.value)) {
      add_mops(id, op.value, at.line);
    } else {
      add_mops(id, it->second.value, it->second.line);
    }
    pending_.erase(it);
  }

  TxnHistory finish() {
    std::vector<std::uint32_t> never_completed;
    for (const auto& [id, pending] : pending_) never_completed.push_back(id);
    std::sort(never_completed.begin(), never_completed.end());
    for (std::uint32_t id : never_completed) add_mops(id, pending_[id].value, pending_[id].line);
    pending_.clear();
    // Mops were added in completion order; the checker wants them in txn order.
    std::vector<Mop> ordered;
    ordered.reserve(out_.mops.size());
    for (Txn& t : out_.txns) {
      auto begin = out_.mops.begin() + t.mop_begin;
      t.mop_begin = static_cast<std::uint32_t>(ordered.size());
      ordered.insert(ordered.end(), begin, begin + t.mop_count);
    }
    out_.mops = std::move(ordered);
    return std::move(out_);
  }

 private:
  struct Pending {
    json value;        // the invocation's micro-ops
    std::size_t line;  // of the invocation
  };

  static Txn started(const Op& op, std::uint64_t position) {
    Txn t;
    t.process = op.process;
    t.invoke_position = position;
    t.index = t.invoke_index = op.index;
    t.invoke_time_ns = op.time_ns;
    return t;
  }

  void complete(std::uint32_t id, const Op& op, std::uint64_t position) {
    Txn& t = out_.txns[id];
    t.status = status_of(op.type);
    t.complete_position = position;
    t.index = op.index;
  }

  void add_mops(std::uint32_t id, const json& value, std::size_t line) {
    Txn& t = out_.txns[id];
    if (!value.is_array())
      throw HistoryError(source_, line, "op index " + std::to_string(t.invoke_index) +
                                            ": a transaction's value must be a list of micro-ops");
    t.mop_begin = static_cast<std::uint32_t>(out_.mops.size());
    try {
      for (const json& mop : value) compiler_.add_mop(mop, id);
    } catch (const std::invalid_argument& e) {
      throw HistoryError(source_, line, "op index " + std::to_string(t.index) + ": " + e.what());
    }
    t.mop_count = static_cast<std::uint32_t>(out_.mops.size()) - t.mop_begin;
  }

  TxnHistory out_;
  Compiler compiler_;  // writes into out_
  std::string source_;
  OpPairing pairing_;
  std::unordered_map<std::uint32_t, Pending> pending_;  // txns in flight, by id
  std::uint64_t position_ = 0;                          // of the next op in the history
};

TxnCompiler::TxnCompiler(Workload workload, std::string source)
    : impl_(std::make_unique<Impl>(workload, std::move(source))) {}
TxnCompiler::~TxnCompiler() = default;

void TxnCompiler::take(const Op& op, const OpPosition& at, json* movable_value) {
  if (!op.is_nemesis()) ++client_ops_;
  impl_->take(op, at, movable_value);
}

void TxnCompiler::add(const Op& op, const OpPosition& at) { take(op, at, nullptr); }
void TxnCompiler::add(Op&& op, const OpPosition& at) { take(op, at, &op.value); }
TxnHistory TxnCompiler::finish() { return impl_->finish(); }

TxnHistory compile(const History& history, Workload workload) {
  TxnCompiler compiler(workload, kSource);
  for (const Op& op : history) compiler.add(op, OpPosition{});
  return compiler.finish();
}

std::string format_list(std::span<const std::int64_t> values) {
  constexpr std::size_t kShown = 4;  // each side of the ellipsis
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values.size() > 2 * kShown + 1 && i == kShown) {
      text += "… ";
      i = values.size() - kShown - 1;
      continue;
    }
    text += std::to_string(values[i]);
    if (i + 1 < values.size()) text += ' ';
  }
  return text + "]";
}

}  // namespace faultline::checker::txn
