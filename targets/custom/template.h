// Text templates of a declared target: "http://{address}:{ports.client}/v3/kv/put". A
// placeholder is `{` NAME `}`, NAME a letter or '_' then letters, digits, '_' or '.'; any other
// brace is text, so JSON bodies need no escaping ('{"key": "{key_base64}"}' has one
// placeholder). Every placeholder is checked against the names its context allows when the spec
// is loaded, so a typo is a file:line:column error, never a request with a hole in it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/spec_reader.h"

namespace faultline::custom {

using Values = std::map<std::string, std::string>;

class Template {
 public:
  Template() = default;
  // Reads the scalar `node` (`context` names it in messages: "target.servers.command[3]").
  // Throws SpecError at the node when it is not a scalar or names a placeholder not in `allowed`.
  static Template read(const YAML::Node& node, const FieldReader& where,
                       const std::string& context, const std::set<std::string>& allowed);
  // The text with every placeholder replaced. REQUIRES: `values` has each placeholder's name.
  std::string render(const Values& values) const;

 private:
  struct Segment {
    std::string text;
    bool placeholder = false;  // text is then the name
  };
  std::vector<Segment> segments_;
};

// Reads key `key` of `reader` as a template; absent: `fallback` (checked as well).
Template template_field(FieldReader& reader, const std::string& key, const std::string& context,
                        const std::set<std::string>& allowed,
                        std::optional<std::string> fallback = std::nullopt);

// A list of templates (an argv).
std::vector<Template> template_list(FieldReader& reader, const std::string& key,
                                    const std::string& context,
                                    const std::set<std::string>& allowed, bool required);

// A mapping of name: template (environment, files, headers), in the spec's order.
std::vector<std::pair<std::string, Template>> template_map(FieldReader& reader,
                                                           const std::string& key,
                                                           const std::string& context,
                                                           const std::set<std::string>& allowed);

std::vector<std::string> render_all(const std::vector<Template>& templates, const Values& values);

}  // namespace faultline::custom
