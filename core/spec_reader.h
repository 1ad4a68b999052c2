// Strict reading of one YAML mapping of a spec: every key must be known, every value of the
// expected type; an error names the file, line and column and says what was expected.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace faultline {

// Bad spec input (exit 254). what() reads "FILE:LINE:COLUMN: message".
class SpecError : public std::runtime_error {
 public:
  SpecError(const std::string& file, const YAML::Mark& mark, const std::string& message);
};

class FieldReader {
 public:
  // `context` names the mapping in messages ("target", "clients"). A null node reads as empty.
  FieldReader(YAML::Node map, std::string file, std::string context);

  bool has(const std::string& key) const;
  std::string string(const std::string& key, std::optional<std::string> fallback = std::nullopt);
  // Integers and numbers within [min, max].
  long long integer(const std::string& key, std::optional<long long> fallback, long long min,
                    long long max);
  double number(const std::string& key, std::optional<double> fallback, double min, double max);
  bool boolean(const std::string& key, std::optional<bool> fallback);
  // One of `choices`.
  std::string choice(const std::string& key, const std::vector<std::string>& choices,
                     std::optional<std::string> fallback = std::nullopt);
  std::vector<std::string> strings(const std::string& key,
                                   std::optional<std::vector<std::string>> fallback);
  // A nested mapping (null if absent), marked as read; the caller reads it with its own reader.
  YAML::Node mapping(const std::string& key, bool required);
  // A raw node (null if absent), marked as read.
  YAML::Node raw(const std::string& key);

  // Rejects keys nobody read. Call after reading every field.
  void finish() const;

  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const;
  [[noreturn]] void fail_key(const std::string& key, const std::string& message) const;
  const std::string& file() const { return file_; }
  // The values as resolved, defaults included: saved with the run.
  const YAML::Node& resolved() const { return resolved_; }

 private:
  // The key's node, or nothing when the key is absent (or null) and not required.
  std::optional<YAML::Node> value(const std::string& key, bool required, const char* expected);

  YAML::Node map_;
  std::string file_;
  std::string context_;
  std::set<std::string> read_;
  YAML::Node resolved_ = YAML::Node(YAML::NodeType::Map);
};

}  // namespace faultline
