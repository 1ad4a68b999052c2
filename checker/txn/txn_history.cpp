#include "checker/txn/txn_history.h"

#include <algorithm>
#include <unordered_map>
#include <variant>

#include "core/json_value.h"
#include "core/text.h"

namespace faultline::checker::txn {

using nlohmann::json;
// Micro-ops are compiled from either parser's values, by one template (core/json_value.h).
using namespace json_value;

namespace {

const std::string kSource = kInMemoryHistory;

template <class Value>
bool is_mop_list(const Value& value) {
  if (!is_array(value) || size_of(value) == 0) return false;
  for (const auto& mop : items_of(value))
    if (!is_array(mop)) return false;
  return true;
}

// Interns keys: integer and string keys live in separate tables, so 1 and "1" stay distinct.
class KeyTable {
 public:
  explicit KeyTable(std::vector<std::string>& names) : names_(names) {}

  template <class Value>
  std::uint32_t intern(const Value& key) {
    if (is_integer(key)) {
      auto [it, added] = ints_.try_emplace(int64_of(key), next());
      if (added) names_.push_back(std::to_string(it->first));
      return it->second;
    }
    if (is_string(key)) {
      std::string_view text = string_of(key);
      auto it = strings_.find(text);
      if (it == strings_.end()) {
        it = strings_.emplace(std::string(text), next()).first;
        names_.emplace_back(text);
      }
      return it->second;
    }
    throw std::invalid_argument("a key must be an integer or a string, not " +
                                printable(dump_of(key)));
  }

 private:
  std::uint32_t next() const { return static_cast<std::uint32_t>(names_.size()); }
  std::vector<std::string>& names_;
  std::unordered_map<std::int64_t, std::uint32_t> ints_;
  // Looked up by string_view: a key read from a JSONL line is no std::string.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> strings_;
};

template <class Value>
std::int64_t integer_value(const Value& v, const Value& mop) {
  if (!is_integer(v))
    throw std::invalid_argument("written values must be integers: " + printable(dump_of(mop)));
  return int64_of(v);
}

class Compiler {
 public:
  Compiler(TxnHistory& out) : out_(out), keys_(out.key_names) {}

  template <class Value>
  void add_mop(const Value& mop, std::uint32_t txn) {
    if (!is_array(mop) || size_of(mop) != 3 || !is_string(item(mop, 0)))
      throw std::invalid_argument("a micro-op must be [f key value], not " +
                                  printable(dump_of(mop)));
    std::string_view f = string_of(item(mop, 0));
    Mop m;
    m.key = keys_.intern(item(mop, 1));
    m.txn = txn;
    const auto& v = item(mop, 2);
    bool append = out_.workload == Workload::list_append;
    if (f == (append ? "append" : "w")) {
      m.kind = append ? MopKind::append : MopKind::write;
      m.value = integer_value(v, mop);
    } else if (f == "r") {
      m.kind = MopKind::read;
      m.read_nil = is_null(v);
      if (m.read_nil) {
        // nothing more: an invocation's placeholder, or the initial state
      } else if (append) {
        add_list(v, mop, m);
      } else {
        m.value = integer_value(v, mop);
      }
    } else {
      throw std::invalid_argument("unknown micro-op \"" + std::string(f) + "\" for " +
                                  (append ? "list-append (append, r): " : "rw-register (w, r): ") +
                                  dump_of(mop));
    }
    out_.mops.push_back(m);
  }

 private:
  template <class Value>
  void add_list(const Value& v, const Value& mop, Mop& m) {
    if (!is_array(v))
      throw std::invalid_argument("a list read must be a list or nil: " + printable(dump_of(mop)));
    m.list_begin = static_cast<std::uint32_t>(out_.elements.size());
    for (const auto& e : items_of(v)) out_.elements.push_back(integer_value<Value>(e, mop));
    m.list_size = static_cast<std::uint32_t>(out_.elements.size() - m.list_begin);
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

template <class Value>
bool is_txn(const Op& op, const Value& value) {
  return op.f == "txn" || op.f.empty() || is_mop_list(value);
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

  // `value`: the op's value, op.value or as the JSONL reader parsed it from `line`.
  template <class Value>
  void take(const Op& op, const OpPosition& at, const Value& value, json* movable_value,
            std::string_view line) {
    std::uint64_t position = position_++;  // nemesis entries count: real time is by position
    if (op.is_nemesis()) return;
    if (op.type == OpType::invoke) {
      bool txn = is_txn(op, value);
      auto id = static_cast<std::uint32_t>(out_.txns.size());
      pairing_.invoke(op, txn ? id : kNotTxn, at);
      if (!txn) return;
      out_.txns.push_back(started(op, position));
      pending_.emplace(id, Pending{kept(value, movable_value, line), at.line});
      return;
    }
    auto slot = pairing_.complete(op);
    if (!slot) {  // a completion with no invocation: a txn known only by its outcome
      if (!is_txn(op, value)) return;
      auto id = static_cast<std::uint32_t>(out_.txns.size());
      out_.txns.push_back(started(op, position));
      complete(id, op, position);
      add_mops(id, value, at.line);
      return;
    }
    if (*slot == kNotTxn) return;
    auto id = static_cast<std::uint32_t>(*slot);
    complete(id, op, position);
    auto it = pending_.find(id);
    // The completion carries what was read; an info or fail completion may carry nothing useful.
    if (is_mop_list(value)) {
      add_mops(id, value, at.line);
    } else {
      add_pending_mops(id, it->second);
    }
    pending_.erase(it);
  }

  void reserve(std::size_t ops) {
    // A txn is two ops; its micro-ops (a few) are kept from one of them.
    out_.txns.reserve(ops / 2 + 1);
    out_.mops.reserve(ops * 2);
  }

  TxnHistory finish() {
    std::vector<std::uint32_t> never_completed;
    for (const auto& [id, pending] : pending_) never_completed.push_back(id);
    std::sort(never_completed.begin(), never_completed.end());
    for (std::uint32_t id : never_completed) add_pending_mops(id, pending_[id]);
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
  // The invocation's micro-ops: a json, or the text they were parsed from (the parsed value
  // lives only during the visit; the text, in the caller's, costs nothing): the JSONL line
  // simdjson read, or the EDN form.
  struct EdnForm {
    std::string_view text;
  };
  using KeptValue = std::variant<json, std::string_view, EdnForm>;
  struct Pending {
    KeptValue value;
    std::size_t line;  // of the invocation
  };

  // The invocation's value, kept until its completion: moved when the caller hands it over.
  static KeptValue kept(const json& value, json* movable_value, std::string_view) {
    return movable_value ? std::move(*movable_value) : value;
  }
  static KeptValue kept(element, json*, std::string_view line) { return line; }
  static KeptValue kept(edn::Value, json*, std::string_view form) { return EdnForm{form}; }

  // The micro-ops of an invocation whose completion carries none (or that never completed).
  void add_pending_mops(std::uint32_t id, const Pending& pending) {
    if (const json* value = std::get_if<json>(&pending.value))
      return add_mops(id, *value, pending.line);
    if (const EdnForm* form = std::get_if<EdnForm>(&pending.value)) {
      edn::parse_into(form->text, edn_tape_);
      return add_mops(id, edn::Value(edn_tape_, 0), pending.line);
    }
    element op;
    if (reparser_.parse(std::get<std::string_view>(pending.value)).get(op) != simdjson::SUCCESS)
      throw std::logic_error("simdjson cannot read again a line it read");
    std::optional<element> value = json_value::field(op, "value");
    if (!value) throw std::logic_error("a line read again lost its value");
    add_mops(id, *value, pending.line);
  }

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

  template <class Value>
  void add_mops(std::uint32_t id, const Value& value, std::size_t line) {
    Txn& t = out_.txns[id];
    if (!is_array(value))
      throw HistoryError(source_, line, "op index " + std::to_string(t.invoke_index) +
                                            ": a transaction's value must be a list of micro-ops");
    t.mop_begin = static_cast<std::uint32_t>(out_.mops.size());
    try {
      for (const auto& mop : items_of(value)) compiler_.add_mop(mop, id);
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
  simdjson::dom::parser reparser_;                       // of kept JSON text
  edn::Tape edn_tape_;                                   // of kept EDN text
  std::uint64_t position_ = 0;                          // of the next op in the history
};

TxnCompiler::TxnCompiler(Workload workload, std::string source)
    : impl_(std::make_unique<Impl>(workload, std::move(source))) {}
TxnCompiler::~TxnCompiler() = default;

void TxnCompiler::add(const Op& op, const OpPosition& at) {
  count(op);
  impl_->take(op, at, op.value, nullptr, {});
}
void TxnCompiler::add(Op&& op, const OpPosition& at) {
  count(op);
  impl_->take(op, at, op.value, &op.value, {});
}
void TxnCompiler::add(Op&& op, const OpPosition& at, ParsedValue value) {
  if (!value.element && !value.edn) return add(std::move(op), at);
  count(op);
  if (value.element) return impl_->take(op, at, *value.element, nullptr, value.text);
  impl_->take(op, at, *value.edn, nullptr, value.text);
}
void TxnCompiler::count(const Op& op) {
  if (!op.is_nemesis()) ++client_ops_;
}
TxnHistory TxnCompiler::finish() { return impl_->finish(); }
void TxnCompiler::reserve(std::size_t ops) { impl_->reserve(ops); }

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
