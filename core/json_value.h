// One set of questions asked of a JSON value, answered alike by nlohmann::json (JSON arrays,
// ops built in memory), by a simdjson element (JSONL lines, parsed without a DOM of their own)
// and by an EDN tape's value (core/edn.h): the readers of ops (core/history.cpp) and of
// micro-ops (checker/txn/txn_history.cpp) are each one template over the three. The answers
// match nlohmann's for the same text (for EDN: for the JSON it maps onto), so a value reads the
// same whichever parser took it.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/edn.h"

namespace faultline::json_value {

using nlohmann::json;
using simdjson::dom::element;

inline const json* field(const json& object, std::string_view name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}
// Where `key` is in `names`; N if it is not. fields() below, for either parser, is one pass
// over an object with it: a lookup per name costs a history of small ops a tenth of its reading.
template <std::size_t N>
std::size_t slot_of(std::string_view key, const std::array<std::string_view, N>& names) {
  std::size_t i = 0;
  while (i < N && key != names[i]) ++i;
  return i;
}

template <std::size_t N>
std::array<const json*, N> fields(const json& object, const std::array<std::string_view, N>& names) {
  std::array<const json*, N> found{};
  for (auto it = object.begin(); it != object.end(); ++it)
    if (std::size_t i = slot_of(it.key(), names); i < N) found[i] = &*it;
  return found;
}
inline bool is_object(const json& v) { return v.is_object(); }
inline bool is_array(const json& v) { return v.is_array(); }
inline bool is_null(const json& v) { return v.is_null(); }
inline bool is_string(const json& v) { return v.is_string(); }
inline std::string_view string_of(const json& v) { return v.get_ref<const std::string&>(); }
inline bool is_integer(const json& v) { return v.is_number_integer(); }
inline bool is_number(const json& v) { return v.is_number(); }
inline bool is_float(const json& v) { return v.is_number_float(); }
inline double double_of(const json& v) { return v.get<double>(); }
inline std::int64_t int64_of(const json& v) { return v.get<std::int64_t>(); }  // floats truncate
inline const json& items_of(const json& array) { return array; }  // to iterate
inline std::size_t size_of(const json& array) { return array.size(); }
inline const json& item(const json& array, std::size_t i) { return array[i]; }
inline std::string dump_of(const json& v) { return v.dump(); }

// nlohmann's parser keeps the last of duplicate keys; so does this.
inline std::optional<element> field(element object, std::string_view name) {
  std::optional<element> found;
  for (auto [key, value] : simdjson::dom::object(object))
    if (key == name) found = value;
  return found;
}
// The last of duplicate keys, as field().
template <std::size_t N>
std::array<std::optional<element>, N> fields(element object, const std::array<std::string_view, N>& names) {
  std::array<std::optional<element>, N> found;
  for (auto [key, value] : simdjson::dom::object(object))
    if (std::size_t i = slot_of(key, names); i < N) found[i] = value;
  return found;
}
inline bool is_object(element v) { return v.is_object(); }
inline bool is_array(element v) { return v.is_array(); }
inline bool is_null(element v) { return v.is_null(); }
inline bool is_string(element v) { return v.is_string(); }
inline std::string_view string_of(element v) { return v.get_string().value_unsafe(); }
inline bool is_integer(element v) { return v.is_int64() || v.is_uint64(); }
inline bool is_number(element v) { return v.is_number(); }
inline bool is_float(element v) { return v.is_double(); }
inline double double_of(element v) { return v.get_double().value_unsafe(); }
// As nlohmann's get<std::int64_t>(): an unsigned past int64 wraps, a float truncates.
inline std::int64_t int64_of(element v) {
  if (v.is_int64()) return v.get_int64().value_unsafe();
  if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64().value_unsafe());
  return static_cast<std::int64_t>(v.get_double().value_unsafe());
}
inline simdjson::dom::array items_of(element array) { return simdjson::dom::array(array); }
inline std::size_t size_of(element array) { return simdjson::dom::array(array).size(); }
inline element item(element array, std::size_t i) {
  return simdjson::dom::array(array).at(i).value_unsafe();
}

inline bool is_object(edn::Value v) { return v.kind() == edn::Kind::object; }
inline bool is_array(edn::Value v) { return v.kind() == edn::Kind::array; }
inline bool is_null(edn::Value v) { return v.kind() == edn::Kind::null; }
inline bool is_string(edn::Value v) { return v.kind() == edn::Kind::string; }
inline std::string_view string_of(edn::Value v) { return v.node().text; }
inline bool is_integer(edn::Value v) { return v.kind() == edn::Kind::integer; }
inline bool is_float(edn::Value v) { return v.kind() == edn::Kind::real; }
inline bool is_number(edn::Value v) { return is_integer(v) || is_float(v); }
inline double double_of(edn::Value v) { return v.node().real; }
inline std::int64_t int64_of(edn::Value v) {  // a real truncates, as nlohmann's get
  return is_integer(v) ? v.node().integer : static_cast<std::int64_t>(v.node().real);
}
inline edn::Items items_of(edn::Value array) { return edn::Items(array); }
inline std::size_t size_of(edn::Value array) { return array.node().size; }
inline edn::Value item(edn::Value array, std::size_t i) {
  edn::Value element = array.first_child();
  for (; i > 0; --i) element = element.after();
  return element;
}
inline std::string dump_of(edn::Value v) { return edn::to_json(v).dump(); }
// The last of duplicate keys, as in the object the map stands for.
template <std::size_t N>
std::array<std::optional<edn::Value>, N> fields(edn::Value object,
                                                const std::array<std::string_view, N>& names) {
  std::array<std::optional<edn::Value>, N> found;
  for (edn::Value key = object.first_child(); !(key == object.after()); key = key.after().after())
    if (std::size_t i = slot_of(string_of(key), names); i < N) found[i] = key.after();
  return found;
}

// The value nlohmann's parser builds from the same text.
json to_json(element v);
std::string dump_of(element v);  // for messages: as nlohmann prints the same value

}  // namespace faultline::json_value
