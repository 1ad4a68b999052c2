#include "core/history.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>

#include "core/edn.h"
#include "core/history_parsed.h"
#include "core/json_value.h"
#include "core/text.h"

namespace faultline {

using nlohmann::json;

std::string_view to_string(OpType type) {
  switch (type) {
    case OpType::invoke: return "invoke";
    case OpType::ok: return "ok";
    case OpType::fail: return "fail";
    case OpType::info: return "info";
  }
  return "?";
}

std::optional<OpType> parse_op_type(std::string_view text) {
  if (text == "invoke") return OpType::invoke;
  if (text == "ok") return OpType::ok;
  if (text == "fail") return OpType::fail;
  if (text == "info") return OpType::info;
  return std::nullopt;
}

HistoryError::HistoryError(std::string file, std::size_t line, const std::string& what)
    : std::runtime_error(file + (line ? ":" + std::to_string(line) : std::string()) + ": " + what),
      file_(std::move(file)),
      line_(line),
      detail_(what) {}

bool nested_deeper_than(const json& value, std::size_t levels) {
  if (!value.is_structured()) return false;  // most values: no walk to set up
  std::vector<std::pair<const json*, std::size_t>> pending{{&value, 0}};  // value, its depth
  while (!pending.empty()) {
    auto [v, depth] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > levels) return true;
    for (const json& child : *v) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

namespace {

// Fields in a fixed, readable order (index, time, process first), as the JSONL lines show them.
template <class Json>
Json op_fields(const Op& op) {
  Json j;
  j["index"] = op.index;
  if (op.time_ns >= 0) j["time_ns"] = op.time_ns;
  if (op.is_nemesis()) {
    j["process"] = "nemesis";
  } else {
    j["process"] = op.process;
  }
  if (!op.node.empty()) j["node"] = op.node;
  j["type"] = to_string(op.type);
  j["f"] = op.f;
  if (!op.key.empty()) j["key"] = op.key;
  if (!op.value.is_null()) j["value"] = op.value;
  if (!op.error.empty()) j["error"] = op.error;
  return j;
}

}  // namespace

json op_to_json(const Op& op) { return op_fields<json>(op); }

std::string op_to_line(const Op& op) { return op_fields<nlohmann::ordered_json>(op).dump(); }

// The op fields are read by one template from either parser's values (core/json_value.h).
namespace {

using namespace json_value;

template <class Value>
std::string text_of(const Value& v) {
  return is_string(v) ? std::string(string_of(v)) : dump_of(v);
}

// The fields an op may have, found in one pass (json_value::fields).
enum OpField : std::size_t { kType, kProcess, kIndex, kTimeNs, kTime, kF, kKey, kNode, kError, kValue, kOpFields };
constexpr std::array<std::string_view, kOpFields> kOpFieldNames{"type", "process", "index", "time_ns", "time",
                                                                "f",    "key",     "node",  "error",   "value"};

// Accepts our own field names and Jepsen's (time in ns as "time", EDN keywords as strings).
// Every field but the value; the caller takes that (moved or converted) from `found`.
template <class Found>
Op op_fields_from(const Found& found) {
  Op op;
  const auto& type = found[kType];
  if (!type || !is_string(*type))
    throw std::invalid_argument("op has no \"type\" (invoke, ok, fail or info)");
  auto parsed = parse_op_type(string_of(*type));
  if (!parsed)
    throw std::invalid_argument("\"type\" must be invoke, ok, fail or info, not " +
                                printable(dump_of(*type)));
  op.type = *parsed;

  if (const auto& p = found[kProcess]) {
    if (is_integer(*p)) {
      op.process = int64_of(*p);
      if (op.process < 0) throw std::invalid_argument("\"process\" must not be negative");
    } else if (is_string(*p) && string_of(*p) == "nemesis") {
      op.process = kNemesisProcess;
    } else {
      throw std::invalid_argument("\"process\" must be an integer or \"nemesis\", not " +
                                  printable(dump_of(*p)));
    }
  }
  if (const auto& i = found[kIndex]; i && !is_null(*i)) {
    if (!is_integer(*i)) throw std::invalid_argument("\"index\" must be an integer");
    op.index = int64_of(*i);
  }
  for (OpField name : {kTimeNs, kTime}) {
    if (const auto& t = found[name]; t && is_number(*t)) {
      // A float past int64's range (or NaN) would be undefined behaviour to convert (fuzz/).
      if (is_float(*t) && !(std::abs(double_of(*t)) < 9.2e18))
        throw std::invalid_argument("\"" + std::string(kOpFieldNames[name]) + "\" is out of range");
      op.time_ns = int64_of(*t);
      break;
    }
  }
  if (const auto& f = found[kF]; f && !is_null(*f)) op.f = text_of(*f);
  if (const auto& k = found[kKey]; k && !is_null(*k)) op.key = text_of(*k);
  if (const auto& n = found[kNode]; n && !is_null(*n)) op.node = text_of(*n);
  if (const auto& e = found[kError]; e && !is_null(*e)) op.error = text_of(*e);
  return op;
}

template <class Value>
auto op_fields_of(const Value& object) {
  if (!is_object(object))
    throw std::invalid_argument("expected an op map, got " + printable(dump_of(object)));
  return fields(object, kOpFieldNames);
}

// `movable`: the caller owns `object` and hands its value over (no copy).
Op op_from(const json& object, bool movable) {
  auto found = op_fields_of(object);
  Op op = op_fields_from(found);
  if (const json* v = found[kValue]) {
    if (movable) {
      op.value = std::move(const_cast<json&>(*v));  // values are most of a history's bytes
    } else {
      op.value = *v;
    }
  }
  return op;
}

}  // namespace

Op op_from_json(const json& object) { return op_from(object, false); }
Op op_from_json(json&& object) { return op_from(object, true); }

namespace {

enum class Format { jsonl, json_array, edn };

// JSON starts with an object whose first key is quoted; EDN maps start with a keyword.
Format detect_format(std::string_view text) {
  std::size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ','))
      ++i;
  };
  skip();
  if (i < text.size() && text[i] == '[') {
    ++i;
    skip();
    if (i < text.size() && text[i] == ']') return Format::json_array;
    if (i < text.size() && text[i] == '{') {
      ++i;
      skip();
      if (i < text.size() && text[i] == '"') return Format::json_array;
    }
    return Format::edn;
  }
  if (i < text.size() && text[i] == '{') {
    ++i;
    skip();
    if (i < text.size() && text[i] == '"') return Format::jsonl;
  }
  return Format::edn;
}

// Converts one op map of the file with `convert`, naming its place in errors.
template <class Convert>
Op converted_op(Convert&& convert, const std::string& source, const OpPosition& at,
                std::size_t ordinal) {
  try {
    Op op = convert();
    if (op.index < 0) op.index = static_cast<std::int64_t>(ordinal);
    return op;
  } catch (const std::invalid_argument& e) {
    throw HistoryError(source, at.line, at.prefix() + e.what());
  }
}

[[noreturn]] void too_deep(const std::string& source, const OpPosition& at) {
  throw HistoryError(
      source, at.line,
      at.prefix() + "nesting deeper than " + std::to_string(kMaxNesting_levels) + " levels");
}

Op op_at(json&& object, const std::string& source, const OpPosition& at, std::size_t ordinal) {
  if (nested_deeper_than(object, kMaxNesting_levels)) too_deep(source, at);
  return converted_op([&] { return op_from_json(std::move(object)); }, source, at, ordinal);
}

// An EDN form as the tape reader left it: its fields read in place, its value handed over as is.
Op op_at(edn::Value form, std::array<std::optional<edn::Value>, kOpFields>& found,
         const std::string& source, const OpPosition& at, std::size_t ordinal) {
  if (edn::container_levels(form) > kMaxNesting_levels) too_deep(source, at);
  return converted_op(
      [&] {
        found = op_fields_of(form);
        return op_fields_from(found);
      },
      source, at, ordinal);
}

// JSONL lines go to simdjson first (several times faster than nlohmann's parser, and no DOM of
// the op is built). It refuses whatever nlohmann refuses, and more: lines nested deeper than
// its max_depth, numbers past 64 bits, and lines holding -0 (see parse). Those go to nlohmann,
// which decides as it always did (ops, torn lines and messages unchanged).
class JsonlParser {
 public:
  JsonlParser() {
    // With max_depth = the limit, simdjson takes no line nested deeper than kMaxNesting_levels
    // (and some lines exactly that deep, which the nlohmann path then reads).
    if (parser_.allocate(kInitialLine_bytes, kMaxNesting_levels) != simdjson::SUCCESS)
      throw std::bad_alloc();
  }
  // The line as an op element, valid until the next parse; nullopt if simdjson refuses it.
  std::optional<simdjson::dom::element> parse(std::string_view line) {
    // nlohmann types the integer -0 signed and 0 unsigned (their hashes differ); simdjson
    // cannot tell them apart, so a line that may hold -0 goes to nlohmann.
    if (line.find("-0") != std::string_view::npos) return std::nullopt;
    simdjson::dom::element element;
    if (parser_.parse(line.data(), line.size()).get(element) != simdjson::SUCCESS)
      return std::nullopt;
    return element;
  }

 private:
  static constexpr std::size_t kInitialLine_bytes = 4096;  // grows to the longest line
  simdjson::dom::parser parser_;
};

// Pairs client ops (see pair_ops). `positions`, when given, holds each op's place in its file,
// for the message.
std::vector<PairedOp> pair_ops_at(const History& history, const std::string& source,
                                  const std::vector<OpPosition>* positions) {
  std::vector<PairedOp> pairs;
  OpPairing pairing(source);
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    if (op.is_nemesis()) continue;
    if (op.type == OpType::invoke) {
      pairing.invoke(op, pairs.size(), positions ? (*positions)[i] : OpPosition{});
      pairs.push_back(PairedOp{i, std::nullopt});
    } else if (auto slot = pairing.complete(op)) {
      pairs[*slot].completion = i;
    } else {
      pairs.push_back(PairedOp{i, i});  // a completion with no invocation: known by its outcome
    }
  }
  return pairs;
}

}  // namespace

std::string OpPosition::prefix() const {
  return array_position ? "op at array position " + std::to_string(*array_position) + ": " : "";
}

void OpPairing::invoke(const Op& op, std::size_t slot, const OpPosition& at) {
  auto [it, inserted] = in_flight_.try_emplace(op.process, Flight{slot, op.index, at.line});
  if (inserted) return;
  std::string earlier_line =
      it->second.line > 0 ? " (line " + std::to_string(it->second.line) + ")" : "";
  throw HistoryError(source_, at.line,
                     at.prefix() + "process " + std::to_string(op.process) + " invokes op index " +
                         std::to_string(op.index) + " while op index " +
                         std::to_string(it->second.index) + earlier_line +
                         " is still in flight (a process runs one op at a time)");
}

std::optional<std::size_t> OpPairing::complete(const Op& op) {
  auto it = in_flight_.find(op.process);
  if (it == in_flight_.end()) return std::nullopt;
  std::size_t slot = it->second.slot;
  in_flight_.erase(it);
  return slot;
}

std::size_t for_each_op(std::string_view text, const std::string& source,
                        const std::function<void(Op&&, const OpPosition&)>& visit) {
  return for_each_op_parsed(text, source, [&](Op&& op, const OpPosition& at, ParsedValue value) {
    if (value.element) op.value = json_value::to_json(*value.element);
    if (value.edn) op.value = edn::to_json(*value.edn);
    visit(std::move(op), at);
  });
}

std::size_t for_each_op_parsed(
    std::string_view text, const std::string& source,
    const std::function<void(Op&&, const OpPosition&, ParsedValue)>& visit) {
  std::size_t ordinal = 0;  // ops so far: the index of an op that has none
  auto add = [&](json&& object, const OpPosition& at) {
    visit(op_at(std::move(object), source, at, ordinal++), at, ParsedValue{});
  };
  switch (detect_format(text)) {
    case Format::jsonl: {
      JsonlParser parser;
      std::size_t line_number = 0;
      std::size_t start = 0;
      while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        ++line_number;
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        OpPosition at{line_number, std::nullopt};
        if (auto element = parser.parse(line)) {
          std::array<std::optional<simdjson::dom::element>, kOpFields> found;
          Op op = converted_op(
              [&] {
                found = op_fields_of(*element);
                return op_fields_from(found);
              },
              source, at, ordinal++);
          visit(std::move(op), at,
                ParsedValue{.element = found[kValue] ? &*found[kValue] : nullptr, .text = line});
          continue;
        }
        json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (object.is_discarded()) {
          // A run killed mid-write leaves a torn last line: keep the readable prefix.
          if (start > text.size()) return line_number;
          throw HistoryError(source, line_number, "not a JSON object: " + printable(line, 80));
        }
        add(std::move(object), at);
      }
      return 0;
    }
    case Format::json_array: {
      json array = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (array.is_discarded() || !array.is_array())
        throw HistoryError(source, 0, "not a valid JSON array of ops");
      for (std::size_t i = 0; i < array.size(); ++i) add(std::move(array[i]), OpPosition{0, i});
      return 0;
    }
    case Format::edn:
      try {
        edn::parse_each(text, [&](edn::Value form, std::size_t line) {
          OpPosition at{line, std::nullopt};
          std::array<std::optional<edn::Value>, kOpFields> found;
          Op op = op_at(form, found, source, at, ordinal++);
          const auto& value = found[kValue];
          visit(std::move(op), at,
                ParsedValue{.edn = value ? &*value : nullptr,
                            .text = value ? value->node().source : ""});
        });
      } catch (const edn::ParseError& e) {
        throw HistoryError(source, e.line(), e.what());
      } catch (const nlohmann::json::exception& e) {
        // The EDN parser's own dump() of a non-string map key holding invalid UTF-8 (fuzz/).
        throw HistoryError(source, 0, e.what());
      }
      return 0;
  }
  return 0;
}

HistoryRead read_history_text_file(std::string_view text, const std::string& source) {
  HistoryRead read;
  std::vector<OpPosition> positions;  // of each op in the history
  // Growing a vector of 2M ops by doubling moves each op twice on average (a sixth of reading
  // a big file).
  read.history.reserve(estimated_ops(text));
  positions.reserve(read.history.capacity());
  read.torn_line = for_each_op(text, source, [&](Op&& op, const OpPosition& at) {
    read.history.push_back(std::move(op));
    positions.push_back(at);
  });
  (void)pair_ops_at(read.history, source, &positions);
  return read;
}

History read_history_text(std::string_view text, const std::string& source) {
  return read_history_text_file(text, source).history;
}

std::size_t estimated_ops(std::string_view text) {
  std::size_t lines = 1;
  for (std::size_t at = 0; (at = text.find('\n', at)) != std::string_view::npos; ++at) ++lines;
  // A line has at least ~24 bytes ({"type":"ok"} is 13, and a history writes far more), which
  // caps what a file of blank lines reserves.
  return std::min(lines, text.size() / 24 + 1);
}

namespace {

// All of `fd` from where it is: a pipe is read once, so it is read on the descriptor opened.
std::string read_whole(int fd, const std::filesystem::path& path) {
  std::string text;
  constexpr std::size_t kChunk_bytes = 1 << 16;
  for (;;) {
    std::size_t size = text.size();
    text.resize(size + kChunk_bytes);
    ssize_t got = ::read(fd, text.data() + size, kChunk_bytes);
    if (got < 0 && errno != EINTR) throw HistoryError(path.string(), 0, "cannot read the file");
    text.resize(size + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    if (got == 0) return text;
  }
}

}  // namespace

FileText::FileText(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw HistoryError(path.string(), 0, "cannot open the file");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};  // the mapping outlives the descriptor; a failed read does not leak it
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    auto bytes = static_cast<std::size_t>(st.st_size);
    void* at = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (at != MAP_FAILED) {
      mapped_ = static_cast<const char*>(at);
      mapped_bytes_ = bytes;
    }
  }
  if (mapped_ == nullptr) read_ = read_whole(fd, path);
}

FileText::~FileText() {
  if (mapped_ != nullptr) ::munmap(const_cast<char*>(mapped_), mapped_bytes_);
}

HistoryRead read_history_file(const std::filesystem::path& path) {
  FileText text(path);
  return read_history_text_file(text.view(), path.string());
}

History read_history(const std::filesystem::path& path) { return read_history_file(path).history; }

HistoryWriter::HistoryWriter(const std::filesystem::path& path) : out_(path, std::ios::app) {
  if (!out_) throw std::runtime_error("cannot open history file " + path.string());
}

Op HistoryWriter::append(Op op) {
  std::lock_guard lock(mutex_);
  op.index = next_index_++;
  out_ << op_to_line(op) << '\n';
  out_.flush();  // a killed run must leave every completed line on disk
  return op;
}

std::vector<PairedOp> pair_ops(const History& history, const std::string& source) {
  return pair_ops_at(history, source, nullptr);
}

}  // namespace faultline
