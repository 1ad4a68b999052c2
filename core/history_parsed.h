// for_each_op for a reader that compiles op values itself (the txn checker): JSONL values are
// handed over as simdjson parsed them, not turned into a json it would drop.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/history.h"

namespace simdjson::dom {
class element;
}
namespace faultline::edn {
class Value;
}

namespace faultline {

// An op's value as the JSONL or EDN reader parsed it (read with core/json_value.h), valid only
// during the visit, and its text, valid as long as the text handed to for_each_op_parsed: a
// reader that needs the value later parses the text again rather than copy it.
struct ParsedValue {
  const simdjson::dom::element* element = nullptr;  // JSONL: text is the op's line
  const edn::Value* edn = nullptr;                  // EDN: text is the value's form
  std::string_view text;
  // Neither: the value is op.value (JSON arrays, JSONL lines nlohmann read, ops with none).
};

// for_each_op, handing JSONL values over as parsed: op.value is then left null.
std::size_t for_each_op_parsed(
    std::string_view text, const std::string& source,
    const std::function<void(Op&&, const OpPosition&, ParsedValue)>& visit);

}  // namespace faultline
