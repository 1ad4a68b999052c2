// The sequential models the linearizability search runs, and what they share.
//
// A model turns each op of one object into a Call (its values interned into small integers),
// then answers init / step / describe over States. States are canonical 64-bit ids: a model
// whose state is not a single value (a set, a queue, several registers) hash-conses it in a
// StateTable, so equal states have equal ids and equality and hashing are integer operations.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checker/checker.h"
#include "checker/linear/linearizability.h"
#include "core/history.h"

namespace faultline::checker::linear {

using State = std::uint64_t;

// One op as a model sees it. What f, a and b mean is the model's own business.
struct Call {
  std::uint32_t f = 0;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
};

inline constexpr std::size_t kNever = static_cast<std::size_t>(-1);

// One op of one object, as the history has it. Failed ops never reach a model.
struct ObjectOp {
  const Op* invoke = nullptr;
  const Op* completion = nullptr;  // null: never completed
  OpType outcome = OpType::info;   // ok or info
  std::size_t invoke_pos = 0;      // positions in the history: the real-time order
  std::size_t complete_pos = kNever;

  bool is_ok() const { return outcome == OpType::ok; }
  // What the op wrote or asked for: the invocation's value.
  const nlohmann::json& input() const { return invoke->value; }
  // What the op returned: the completion's value when it completed ok, else null.
  const nlohmann::json& output() const;
  // "op 12 (process 3, cas [1,2])" for error messages.
  std::string describe() const;
};

// Malformed input: names the op.
[[noreturn]] void bad_op(const ObjectOp& op, const std::string& why);

// Interns JSON values into dense ids. Id 0 is null (an absent value).
class ValueTable {
 public:
  ValueTable();
  std::uint32_t intern(const nlohmann::json& value);
  const nlohmann::json& value(std::uint32_t id) const { return values_[id]; }
  std::string describe(std::uint32_t id) const { return values_[id].dump(); }

 private:
  std::vector<nlohmann::json> values_;
  std::array<std::uint32_t, 64> small_{};  // ids of 0..63, the usual register values; 0: not yet
  std::unordered_map<std::int64_t, std::uint32_t> integers_;
  std::unordered_map<std::string, std::uint32_t> others_;  // by compact dump
};

// Hash-conses vectors of ids (a set's sorted elements, a queue, several registers) into States.
class StateTable {
 public:
  State intern(std::vector<std::uint32_t> items);
  const std::vector<std::uint32_t>& items(State state) const { return items_[state]; }

 private:
  struct Hash {
    std::size_t operator()(const std::vector<std::uint32_t>& items) const;
  };
  std::vector<std::vector<std::uint32_t>> items_;
  std::unordered_map<std::vector<std::uint32_t>, State, Hash> ids_;
};

class Model {
 public:
  virtual ~Model() = default;
  // The call for one op, or nullopt when the op constrains nothing (an info read, a read of
  // nil under nil_read_matches_any) and is dropped. Throws HistoryError via bad_op.
  virtual std::optional<Call> parse(const ObjectOp& op) = 0;
  // Called once, after every op of the object was parsed.
  virtual State init() = 0;
  // Whether `call` can take effect in `state`; if so, the state it leaves in *next.
  virtual bool step(State state, const Call& call, State* next) = 0;
  // Whether `call` never changes any state it can take effect in (a read). The search takes such
  // ops as soon as they are legal and tries nothing else there; see search.cpp.
  virtual bool observes_only(const Call& call) const = 0;
  virtual std::string describe_state(State state) const = 0;
  virtual std::string describe_call(const Call& call) const = 0;
};

// The outcome of a model checked without search (a polynomial condition).
struct DirectOutcome {
  Verdict verdict = Verdict::valid;
  std::string reason;                       // why invalid, in words
  std::vector<const ObjectOp*> involved;    // the ops the reason names
  const ObjectOp* blocked = nullptr;        // the op that cannot take effect, when there is one
};

using ModelFactory = std::unique_ptr<Model> (*)(const LinearOptions& options);
using DirectCheck = DirectOutcome (*)(std::span<const ObjectOp> ops, const LinearOptions& options);
// A polynomial check for the histories it applies to; nullopt when it does not apply.
using FastCheck = std::optional<DirectOutcome> (*)(std::span<const ObjectOp> ops, const LinearOptions& options);

// Exactly one of make and direct is set. fast, if set, goes with make: its verdict stands, and
// on invalid the search still runs for the fuller explanation while its budget lasts. refute, if
// set, runs first: a sound necessary condition in O(n log n), whose invalid verdict (with its
// few ops as the witness) stands without a search; nullopt when it finds nothing.
struct ModelKind {
  std::string_view name;
  ModelFactory make = nullptr;
  DirectCheck direct = nullptr;
  FastCheck fast = nullptr;
  FastCheck refute = nullptr;
};

std::span<const ModelKind> model_kinds();
// Throws HistoryError naming the known models.
const ModelKind& find_model_kind(std::string_view name);

}  // namespace faultline::checker::linear
