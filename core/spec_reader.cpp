#include "core/spec_reader.h"

#include <cmath>

#include "core/text.h"

namespace faultline {

SpecError::SpecError(const std::string& file, const YAML::Mark& mark, const std::string& message)
    : std::runtime_error(file + (mark.is_null() ? std::string()
                                                : ":" + std::to_string(mark.line + 1) + ":" +
                                                      std::to_string(mark.column + 1)) +
                         ": " + message) {}

FieldReader::FieldReader(YAML::Node map, std::string file, std::string context)
    : map_(std::move(map)), file_(std::move(file)), context_(std::move(context)) {
  if (map_ && !map_.IsNull() && !map_.IsMap())
    fail(map_, "expected " + context_ + " to be a mapping of key: value");
}

void FieldReader::fail(const YAML::Node& at, const std::string& message) const {
  throw SpecError(file_, at ? at.Mark() : map_.Mark(), message);
}

void FieldReader::fail_key(const std::string& key, const std::string& message) const {
  fail(map_ && map_.IsMap() ? map_[key] : map_, context_ + "." + key + ": " + message);
}

bool FieldReader::has(const std::string& key) const {
  return map_ && map_.IsMap() && map_[key] && !map_[key].IsNull();
}

std::optional<YAML::Node> FieldReader::value(const std::string& key, bool required,
                                             const char* expected) {
  read_.insert(key);
  if (!has(key)) {
    if (required) fail(map_, "missing " + context_ + "." + key + " (expected " + expected + ")");
    return std::nullopt;
  }
  return map_[key];
}

std::string FieldReader::string(const std::string& key, std::optional<std::string> fallback) {
  auto node = value(key, !fallback, "a string");
  std::string result = fallback.value_or("");
  if (node) {
    if (!node->IsScalar()) fail(*node, context_ + "." + key + ": expected a string");
    result = node->as<std::string>();
  }
  resolved_[key] = result;
  return result;
}

long long FieldReader::integer(const std::string& key, std::optional<long long> fallback,
                               long long min, long long max) {
  std::string expected =
      "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  auto node = value(key, !fallback, expected.c_str());
  long long result = fallback.value_or(0);
  if (node) {
    try {
      if (!node->IsScalar()) throw YAML::Exception(node->Mark(), "not a scalar");
      result = node->as<long long>();
    } catch (const YAML::Exception&) {
      fail(*node, context_ + "." + key + ": expected " + expected + ", got '" +
                     (node->IsScalar() ? printable(node->Scalar()) : std::string("a collection")) + "'");
    }
    if (result < min || result > max)
      fail(*node, context_ + "." + key + ": expected " + expected + ", got " +
                     std::to_string(result));
  }
  resolved_[key] = result;
  return result;
}

double FieldReader::number(const std::string& key, std::optional<double> fallback, double min,
                           double max) {
  auto text = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  std::string expected = "a number from " + text(min) + " to " + text(max);
  auto node = value(key, !fallback, expected.c_str());
  double result = fallback.value_or(0);
  if (node) {
    try {
      if (!node->IsScalar()) throw YAML::Exception(node->Mark(), "not a scalar");
      result = node->as<double>();
    } catch (const YAML::Exception&) {
      fail(*node, context_ + "." + key + ": expected " + expected + ", got '" +
                     (node->IsScalar() ? printable(node->Scalar()) : std::string("a collection")) + "'");
    }
    if (!std::isfinite(result) || result < min || result > max)
      fail(*node, context_ + "." + key + ": expected " + expected + ", got " +
                     printable(node->Scalar()));
  }
  resolved_[key] = result;
  return result;
}

bool FieldReader::boolean(const std::string& key, std::optional<bool> fallback) {
  auto node = value(key, !fallback, "true or false");
  bool result = fallback.value_or(false);
  if (node) {
    try {
      result = node->as<bool>();
    } catch (const YAML::Exception&) {
      fail(*node, context_ + "." + key + ": expected true or false");
    }
  }
  resolved_[key] = result;
  return result;
}

std::string FieldReader::choice(const std::string& key, const std::vector<std::string>& choices,
                                std::optional<std::string> fallback) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  std::string expected = "one of: " + list;
  auto node = value(key, !fallback, expected.c_str());
  std::string result = fallback.value_or("");
  if (node) {
    if (!node->IsScalar()) fail(*node, context_ + "." + key + ": expected " + expected);
    result = node->Scalar();
    bool known = false;
    for (const auto& c : choices) known = known || c == result;
    if (!known)
      fail(*node, context_ + "." + key + ": '" + printable(result) + "' is not known; expected " +
                     expected);
  }
  resolved_[key] = result;
  return result;
}

std::vector<std::string> FieldReader::strings(const std::string& key,
                                              std::optional<std::vector<std::string>> fallback) {
  auto node = value(key, !fallback, "a list of strings");
  std::vector<std::string> result = fallback.value_or(std::vector<std::string>{});
  if (node) {
    if (!node->IsSequence()) fail(*node, context_ + "." + key + ": expected a list, like [a, b]");
    result.clear();
    for (const auto& item : *node) {
      if (!item.IsScalar()) fail(item, context_ + "." + key + ": expected a list of strings");
      result.push_back(item.Scalar());
    }
  }
  for (const auto& s : result) resolved_[key].push_back(s);
  if (result.empty()) resolved_[key] = YAML::Node(YAML::NodeType::Sequence);
  return result;
}

YAML::Node FieldReader::mapping(const std::string& key, bool required) {
  auto node = value(key, required, "a mapping");
  if (node && !node->IsMap()) fail(*node, context_ + "." + key + ": expected a mapping of key: value");
  return node ? *node : YAML::Node();
}

YAML::Node FieldReader::raw(const std::string& key) {
  auto node = value(key, false, "a value");
  return node ? *node : YAML::Node();
}

void FieldReader::finish() const {
  if (!map_ || !map_.IsMap()) return;
  for (const auto& entry : map_) {
    // A flow mapping may have any node as a key ({[n1]: 3}); only words name fields.
    if (!entry.first.IsScalar())
      throw SpecError(file_, entry.first.Mark(), "a key in " + context_ + " is not a word");
    std::string key = entry.first.as<std::string>();
    if (read_.count(key)) continue;
    std::string known;
    for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
    throw SpecError(file_, entry.first.Mark(),
                    "unknown key '" + printable(key) + "' in " + context_ + " (known keys: " + known + ")");
  }
}

}  // namespace faultline
