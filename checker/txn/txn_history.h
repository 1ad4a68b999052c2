// The compact form of a transactional history that the Elle-style checker works on.
//
// nlohmann::json values cost hundreds of bytes per micro-op; a million-transaction history
// would not fit. compile() turns the History into flat arrays right away: keys interned to
// dense ids, values as int64, read lists in one shared element array.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/history_parsed.h"

namespace faultline::checker::txn {

enum class Workload : std::uint8_t { list_append, rw_register };
enum class MopKind : std::uint8_t { append, write, read };
// ok: committed. info: may or may not have committed. fail: certainly did not commit.
enum class TxnStatus : std::uint8_t { ok, info, fail };

inline constexpr std::uint32_t kNone = UINT32_MAX;
inline constexpr std::uint64_t kNoPosition = UINT64_MAX;

struct Mop {
  MopKind kind = MopKind::read;
  bool read_nil = false;       // a read that returned nil (invocations; the initial state)
  std::uint32_t key = 0;       // interned: TxnHistory::key_names[key]
  std::uint32_t txn = 0;       // the transaction this micro-op belongs to
  std::int64_t value = 0;      // append or write: the value; register read: the value read
  std::uint32_t list_begin = 0;  // list read: its elements in TxnHistory::elements
  std::uint32_t list_size = 0;
};

struct Txn {
  std::uint32_t mop_begin = 0;
  std::uint32_t mop_count = 0;
  TxnStatus status = TxnStatus::info;
  std::int64_t process = 0;
  std::int64_t index = 0;  // the history index of its completion (invocation if none): its name
  std::uint64_t invoke_position = 0;                // position in the History vector
  std::uint64_t complete_position = kNoPosition;    // kNoPosition: never completed
  std::int64_t invoke_index = 0;    // the history index of its invocation
  std::int64_t invoke_time_ns = -1; // for the order anomalies name their ops in
};

struct TxnHistory {
  Workload workload = Workload::list_append;
  std::vector<Txn> txns;  // in invocation order
  std::vector<Mop> mops;
  std::vector<std::int64_t> elements;
  std::vector<std::string> key_names;

  std::span<const Mop> mops_of(std::uint32_t txn) const {
    const Txn& t = txns[txn];
    return {mops.data() + t.mop_begin, t.mop_count};
  }
  std::span<const std::int64_t> list(const Mop& mop) const {
    return {elements.data() + mop.list_begin, mop.list_size};
  }
  std::uint32_t mop_id(const Mop& mop) const {
    return static_cast<std::uint32_t>(&mop - mops.data());
  }
  std::string txn_name(std::uint32_t txn) const { return "T" + std::to_string(txns[txn].index); }
};

// Pairs invocations with completions and keeps every op whose f is "txn" or empty, or whose
// value is a list of micro-ops. Micro-ops must be [f k v] with f in {"append","r"} for
// list-append, {"w","r"} for rw-register; keys are integers or strings, written values
// integers. Throws HistoryError on a bad micro-op or a process with two ops in flight.
// (Unique writes per key are checked by WriteIndex, which the inference builds anyway.)
TxnHistory compile(const History& history, Workload workload);

// compile() one op at a time, as a file is read (for_each_op): no History is held, only the
// values of txns in flight. `source` names the file in errors, with the op's line.
class TxnCompiler {
 public:
  TxnCompiler(Workload workload, std::string source);
  ~TxnCompiler();
  void add(const Op& op, const OpPosition& at);
  void add(Op&& op, const OpPosition& at);  // moves the invocation's value (no copy)
  // `value` as for_each_op_parsed hands it over: compiled without a json (JSONL lines). The
  // text it was read from must outlive finish(): an invocation's line is read again then.
  void add(Op&& op, const OpPosition& at, ParsedValue value);
  bool has_client_ops() const { return client_ops_ > 0; }
  // Room for a history of about `ops` ops, so that its arrays are not regrown (each regrowth
  // copies them and faults in new pages). Reserved room costs address space until used.
  void reserve(std::size_t ops);
  // The txns never completed are compiled from their invocations. Call once.
  TxnHistory finish();

 private:
  class Impl;
  void count(const Op& op);
  std::unique_ptr<Impl> impl_;
  std::size_t client_ops_ = 0;
};

// "[1 2 3]", shortened in the middle when long: explanations stay one line.
std::string format_list(std::span<const std::int64_t> values);

}  // namespace faultline::checker::txn
