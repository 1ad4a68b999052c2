// The history: every operation a test performed, as invoke then ok / fail / info.
//
// One record type for clients and the nemesis. Times come from one monotonic clock in the
// harness process (never a node's clock). The on-disk form is JSON Lines, one op a line,
// flushed as written so that a killed run leaves a readable prefix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace faultline {

// ok: took effect. fail: certainly did not. info: unknown, may take effect at any later time.
enum class OpType : std::uint8_t { invoke, ok, fail, info };

std::string_view to_string(OpType type);
std::optional<OpType> parse_op_type(std::string_view text);

// Process number of nemesis entries; written as "process":"nemesis".
inline constexpr std::int64_t kNemesisProcess = -1;

struct Op {
  std::int64_t index = -1;    // position in the history, dense from 0
  std::int64_t time_ns = -1;  // harness monotonic clock since test start; -1 when not recorded
  std::int64_t process = 0;   // logical single-threaded client, or kNemesisProcess
  OpType type = OpType::invoke;
  std::string f;              // read, write, cas, txn, start-partition, ...
  std::string key;            // the single object acted on; empty for multi-object ops
  nlohmann::json value;       // null when absent
  std::string node;           // node the client talked to; empty when unknown
  std::string error;          // why an op failed or is indeterminate; free text

  bool is_nemesis() const { return process == kNemesisProcess; }
};

using History = std::vector<Op>;

// Bad input: a history file that cannot be read. Names the file and line (1-based, 0 if none).
class HistoryError : public std::runtime_error {
 public:
  HistoryError(std::string file, std::size_t line, const std::string& what);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }
  const std::string& detail() const { return detail_; }  // what() without "FILE:LINE: "

 private:
  std::string file_;
  std::size_t line_;
  std::string detail_;
};

// Where checkers name a history they were handed in memory; see naming_source.
inline constexpr const char* kInMemoryHistory = "history";

// Runs `check()`; a HistoryError it throws about the in-memory history (a checker's, which
// names the op index) is thrown again naming `source`, the file the history was read from.
template <class Check>
auto naming_source(const std::string& source, Check&& check) -> decltype(check()) {
  try {
    return check();
  } catch (const HistoryError& e) {
    if (e.file() != kInMemoryHistory) throw;
    throw HistoryError(source, e.line(), e.detail());
  }
}

// Values nested deeper than this are bad input in every format: the checkers walk values
// recursively (dump, hashing), and a file nested 60,000 deep would overflow the stack.
inline constexpr std::size_t kMaxNesting_levels = 256;
// Whether `value` nests arrays or objects more than `levels` deep (a scalar is 0 deep).
// Iterative, so it is safe on any input.
bool nested_deeper_than(const nlohmann::json& value, std::size_t levels);

nlohmann::json op_to_json(const Op& op);
// One JSONL line (no newline), fields in a fixed readable order.
std::string op_to_line(const Op& op);
// Throws std::invalid_argument naming the field that is missing or of the wrong type. The
// rvalue form moves the value out instead of copying it.
Op op_from_json(const nlohmann::json& object);
Op op_from_json(nlohmann::json&& object);

// Where an op is in its file: a line, or for a JSON array (one line) its position in the array.
struct OpPosition {
  std::size_t line = 0;
  std::optional<std::size_t> array_position;
  std::string prefix() const;  // "op at array position N: " for a JSON array, else ""
};

// Reads the ops of `text` (any format read_history accepts) one at a time, in file order, and
// hands each to `visit`: a history need not be held whole (the txn checker compiles each op as
// it comes). Ops without an index get their position in the file. Returns the 1-based line of
// a torn last JSONL line, dropped; 0 if none. Throws HistoryError on bad input.
std::size_t for_each_op(std::string_view text, const std::string& source,
                        const std::function<void(Op&&, const OpPosition&)>& visit);

// The whole file, as read_history_file reads it. A regular file is mapped read-only: a GB
// history is neither copied into the heap nor zeroed first, its pages come from the page cache.
// Anything else (a pipe, an empty or unmappable file) is read whole. A history is append-only,
// so a mapped file is never cut under the reader.
class FileText {
 public:
  explicit FileText(const std::filesystem::path& path);
  ~FileText();
  FileText(const FileText&) = delete;
  FileText& operator=(const FileText&) = delete;
  std::string_view view() const { return mapped_ != nullptr ? std::string_view(mapped_, mapped_bytes_) : read_; }

 private:
  const char* mapped_ = nullptr;
  std::size_t mapped_bytes_ = 0;
  std::string read_;
};

// About how many ops `text` holds (JSONL: one a line), to reserve room for; cheap (memchr).
std::size_t estimated_ops(std::string_view text);

// Pairs ops one at a time, by pair_ops' rule: `slot` is the caller's name for an invocation.
class OpPairing {
 public:
  explicit OpPairing(std::string source) : source_(std::move(source)) {}
  // Throws HistoryError, naming `at`, if op.process already has an op in flight.
  void invoke(const Op& op, std::size_t slot, const OpPosition& at);
  // The slot of the invocation `op` completes; nullopt if op.process had none in flight.
  std::optional<std::size_t> complete(const Op& op);

 private:
  struct Flight {
    std::size_t slot;
    std::int64_t index;
    std::size_t line;
  };
  std::string source_;
  std::unordered_map<std::int64_t, Flight> in_flight_;  // by process
};

// Reads a history in any supported format, detected from the content:
//  - faultline JSON Lines (one op object a line);
//  - a JSON array of op objects (elle-cli, Jepsen's history.json);
//  - Jepsen EDN: a vector, a list or a bare sequence of op maps (history.edn, Knossos files).
// Ops without an index get their position in the file. Throws HistoryError on bad input,
// naming the file and line (for a JSON array, the op's position in it), including a process
// that invokes while its previous op is still in flight (pair_ops' rule, checked here so that
// the message can name the line).
History read_history(const std::filesystem::path& path);
History read_history_text(std::string_view text, const std::string& source_name);

// A history as read, with whether it was cut: a run killed mid-write leaves a torn last JSONL
// line, which is dropped (the readable prefix is kept) and reported here so that no result
// hides it.
struct HistoryRead {
  History history;
  std::size_t torn_line = 0;  // 1-based line of the dropped torn last line; 0: none
};
HistoryRead read_history_file(const std::filesystem::path& path);
HistoryRead read_history_text_file(std::string_view text, const std::string& source_name);

// Streams ops to a JSONL file. Thread-safe: clients and the nemesis share one writer.
class HistoryWriter {
 public:
  explicit HistoryWriter(const std::filesystem::path& path);
  // Assigns the next index, writes and flushes the line, and returns the op as written.
  Op append(Op op);

 private:
  std::mutex mutex_;
  std::ofstream out_;
  std::int64_t next_index_ = 0;
};

// An invocation matched with its completion.
struct PairedOp {
  std::size_t invoke = 0;                 // position in the history
  std::optional<std::size_t> completion;  // absent: never completed (indeterminate, like info)

  OpType outcome(const History& history) const {
    return completion ? history[*completion].type : OpType::info;
  }
};

// Pairs every client invocation with its completion, in invocation order; nemesis entries are
// skipped. A completion with no invocation before it (Elle's hand-written histories) becomes an
// op whose invocation is itself. Throws HistoryError if a process invokes while it already has
// an op in flight (a process is single-threaded) or completes an op it never invoked twice.
std::vector<PairedOp> pair_ops(const History& history, const std::string& source_name);

}  // namespace faultline
