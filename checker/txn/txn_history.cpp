#include "checker/txn/txn_history.h"

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

// The completion carries what was read; an info or fail completion may carry nothing useful.
const json& txn_value(const History& history, const PairedOp& pair) {
  const json& invoked = history[pair.invoke].value;
  if (!pair.completion) return invoked;
  const json& completed = history[*pair.completion].value;
  return is_mop_list(completed) ? completed : invoked;
}

bool is_txn(const Op& op) {
  return op.f == "txn" || op.f.empty() || is_mop_list(op.value);
}

}  // namespace

TxnHistory compile(const History& history, Workload workload) {
  TxnHistory out;
  out.workload = workload;
  Compiler compiler(out);
  for (const PairedOp& pair : pair_ops(history, kSource)) {
    const Op& invoke = history[pair.invoke];
    if (!is_txn(invoke)) continue;
    const json& value = txn_value(history, pair);
    if (!value.is_array())
      throw HistoryError(kSource, 0, "op index " + std::to_string(invoke.index) +
                                         ": a transaction's value must be a list of micro-ops");
    Txn t;
    t.status = status_of(pair.outcome(history));
    t.process = invoke.process;
    t.invoke_position = pair.invoke;
    if (pair.completion) t.complete_position = *pair.completion;
    t.index = history[pair.completion.value_or(pair.invoke)].index;
    t.mop_begin = static_cast<std::uint32_t>(out.mops.size());
    auto id = static_cast<std::uint32_t>(out.txns.size());
    try {
      for (const json& mop : value) compiler.add_mop(mop, id);
    } catch (const std::invalid_argument& e) {
      throw HistoryError(kSource, 0, "op index " + std::to_string(t.index) + ": " + e.what());
    }
    t.mop_count = static_cast<std::uint32_t>(out.mops.size()) - t.mop_begin;
    out.txns.push_back(t);
  }
  return out;
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
