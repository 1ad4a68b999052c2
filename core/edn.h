// A reader for EDN (Clojure's data notation), enough for Jepsen, Knossos and Elle histories.
//
// Written by hand because Debian packages no C++ EDN library. EDN values map onto JSON:
// keywords and symbols become strings without the colon (:read -> "read"), nil -> null,
// vectors, lists and sets -> arrays, maps -> objects (non-string keys are printed as text:
// {0 100} -> {"0":100}), ratios and big decimals -> doubles, tagged literals -> the tagged
// value (#inst "..." -> "..."), #_ discards the next form. Comments (;) and commas are space.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
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

// A map's entries in file order, keys as a JSON object's keys (a keyword without its colon, any
// other form printed). As in an object, the last of duplicate keys counts.
using Entries = std::vector<std::pair<std::string, nlohmann::json>>;

// Parses a sequence of top-level values and hands each to a visitor with the line it starts on:
// a map as its entries (to `visit_map`: an op's fields are read without building an object, a
// tree node per field), anything else to `visit_value`. A single top-level vector or list is
// unwrapped: its elements are visited one by one, so `[{...} {...}]`, `({...})` and
// `{...} {...}` read alike. Streams: memory stays one value.
void parse_each(std::string_view text,
                const std::function<void(Entries&&, std::size_t line)>& visit_map,
                const std::function<void(nlohmann::json&&, std::size_t line)>& visit_value);

}  // namespace faultline::edn
