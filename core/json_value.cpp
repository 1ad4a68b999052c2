#include "core/json_value.h"

namespace faultline::json_value {

// A non-negative integer is unsigned, as nlohmann's parser makes it (hashing and
// is_number_unsigned() tell the two apart).
json to_json(element v) {
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::ARRAY: {
      json array = json::array();
      for (element e : simdjson::dom::array(v)) array.push_back(to_json(e));
      return array;
    }
    case element_type::OBJECT: {
      json object = json::object();
      for (auto [key, value] : simdjson::dom::object(v)) object[std::string(key)] = to_json(value);
      return object;
    }
    case element_type::INT64: {
      std::int64_t i = v.get_int64().value_unsafe();
      return i >= 0 ? json(static_cast<std::uint64_t>(i)) : json(i);
    }
    case element_type::UINT64: return v.get_uint64().value_unsafe();
    case element_type::DOUBLE: return v.get_double().value_unsafe();
    case element_type::STRING: return std::string(v.get_string().value_unsafe());
    case element_type::BOOL: return v.get_bool().value_unsafe();
    case element_type::NULL_VALUE: return nullptr;
  }
  return nullptr;
}

std::string dump_of(element v) { return to_json(v).dump(); }

}  // namespace faultline::json_value
