// A reader for EDN (Clojure's data notation), enough for Jepsen, Knossos and Elle histories.
//
// Written by hand because Debian packages no C++ EDN library. EDN values map onto JSON:
// keywords and symbols become strings without the colon (:read -> "read"), nil -> null,
// vectors, lists and sets -> arrays, maps -> objects (non-string keys are printed as text:
// {0 100} -> {"0":100}), ratios and big decimals -> doubles, tagged literals -> the tagged
// value (#inst "..." -> "..."), #_ discards the next form. Comments (;) and commas are space.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::edn {

class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t line, std::size_t column, const std::string& what);
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }

 private:
  std::size_t line_;
  std::size_t column_;
};

// Parses exactly one value; trailing content other than space is an error.
nlohmann::json parse(std::string_view text);

// A parsed form laid out flat, children after their parent (no heap node per value, no tree
// per op map): the op and micro-op readers ask it core/json_value.h's questions, as they ask a
// simdjson element. Strings are views of the text; only those with escapes are copied.
enum class Kind : std::uint8_t { null, boolean, integer, real, string, array, object };

struct Node {
  Kind kind = Kind::null;
  bool boolean = false;
  std::uint16_t levels = 0;  // of containers: 0 for a scalar, 1 for [1 2], 2 for [[1]]
  std::uint32_t size = 0;  // array: elements; object: entries, each a key (string) then a value
  std::uint32_t end = 0;   // the index past this node's children
  std::int64_t integer = 0;
  double real = 0;
  std::string_view text;    // string: its characters (a keyword's without the colon)
  std::string_view source;  // the form as written, to parse again later
};

struct Tape {
  std::vector<Node> nodes;
  std::deque<std::string> copies;  // strings with escapes, and non-string map keys printed
  void clear() {
    nodes.clear();
    copies.clear();
  }
};

// One node of a tape and its children; valid as long as the tape is unchanged.
class Value {
 public:
  Value(const Tape& tape, std::uint32_t at) : tape_(&tape), at_(at) {}
  const Node& node() const { return tape_->nodes[at_]; }
  Kind kind() const { return node().kind; }
  // The next node after this one and its children (the next element of its parent).
  Value after() const { return Value(*tape_, node().end); }
  Value first_child() const { return Value(*tape_, at_ + 1); }
  bool operator==(const Value& other) const { return at_ == other.at_; }

 private:
  const Tape* tape_;
  std::uint32_t at_;
};

// An array's elements, to iterate.
class Items {
 public:
  class Iterator {
   public:
    explicit Iterator(Value at) : at_(at) {}
    Value operator*() const { return at_; }
    Iterator& operator++() {
      at_ = at_.after();
      return *this;
    }
    bool operator!=(const Iterator& other) const { return !(at_ == other.at_); }

   private:
    Value at_;
  };
  explicit Items(Value array) : array_(array) {}
  Iterator begin() const { return Iterator(array_.first_child()); }
  Iterator end() const { return Iterator(array_.after()); }

 private:
  Value array_;
};

// The JSON the value maps onto (see the top of this file).
nlohmann::json to_json(Value value);
// Levels of containers: 0 for a scalar, 1 for [1 2], 2 for [[1]] (as in nested_deeper_than).
inline std::size_t container_levels(Value value) { return value.node().levels; }

// Parses exactly one form of `text` into `tape` (cleared first); trailing content other than
// space is an error. The root is Value(tape, 0).
void parse_into(std::string_view text, Tape& tape);

// Parses exactly one value; trailing content other than space is an error.
nlohmann::json parse(std::string_view text);

// Parses a sequence of top-level forms and hands each to `visit` with the line it starts on,
// as a tape's root: valid during the visit. A single top-level vector or list is unwrapped: its
// elements are visited one by one, so `[{...} {...}]`, `({...})` and `{...} {...}` read alike.
// Streams: memory stays one form.
void parse_each(std::string_view text, const std::function<void(Value, std::size_t line)>& visit);

}  // namespace faultline::edn
