#include "targets/custom/template.h"

#include <cctype>

#include "core/text.h"

namespace faultline::custom {
namespace {

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

std::string list(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "{" : ", {") + n + "}";
  return out.empty() ? "none" : out;
}

}  // namespace

Template Template::read(const YAML::Node& node, const FieldReader& where,
                        const std::string& context, const std::set<std::string>& allowed) {
  if (!node.IsScalar()) where.fail(node, context + ": expected a string");
  const std::string text = node.Scalar();
  Template t;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::size_t end = i + 1;
    if (text[i] == '{' && end < text.size() && name_start(text[end])) {
      while (end < text.size() && name_char(text[end])) ++end;
      if (end < text.size() && text[end] == '}') {
        std::string name = text.substr(i + 1, end - i - 1);
        if (!allowed.count(name))
          where.fail(node, context + ": unknown placeholder {" + printable(name) +
                               "} (known here: " + list(allowed) + ")");
        if (!literal.empty()) t.segments_.push_back({std::move(literal), false});
        literal.clear();
        t.segments_.push_back({name, true});
        i = end;
        continue;
      }
    }
    literal += text[i];
  }
  if (!literal.empty()) t.segments_.push_back({std::move(literal), false});
  return t;
}

std::string Template::render(const Values& values) const {
  std::string out;
  for (const auto& s : segments_) out += s.placeholder ? values.at(s.text) : s.text;
  return out;
}

Template template_field(FieldReader& reader, const std::string& key, const std::string& context,
                        const std::set<std::string>& allowed, std::optional<std::string> fallback) {
  YAML::Node node = reader.raw(key);
  if (!reader.has(key)) {
    if (!fallback) reader.fail_key(key, "missing (expected a string)");
    node = YAML::Node(*fallback);
  }
  return Template::read(node, reader, context + "." + key, allowed);
}

std::vector<Template> template_list(FieldReader& reader, const std::string& key,
                                    const std::string& context,
                                    const std::set<std::string>& allowed, bool required) {
  YAML::Node node = reader.raw(key);
  std::vector<Template> out;
  if (!reader.has(key)) {
    if (required) reader.fail_key(key, "missing (expected a list of strings, like [a, b])");
    return out;
  }
  if (!node.IsSequence() || node.size() == 0)
    reader.fail(node, context + "." + key + ": expected a non-empty list of strings");
  for (std::size_t i = 0; i < node.size(); ++i)
    out.push_back(Template::read(node[i], reader,
                                 context + "." + key + "[" + std::to_string(i) + "]", allowed));
  return out;
}

std::vector<std::pair<std::string, Template>> template_map(FieldReader& reader,
                                                           const std::string& key,
                                                           const std::string& context,
                                                           const std::set<std::string>& allowed) {
  YAML::Node node = reader.mapping(key, false);
  std::vector<std::pair<std::string, Template>> out;
  if (!reader.has(key)) return out;
  for (const auto& entry : node) {
    std::string name = entry.first.as<std::string>();
    out.emplace_back(name, Template::read(entry.second, reader, context + "." + key + "." + name,
                                          allowed));
  }
  return out;
}

std::vector<std::string> render_all(const std::vector<Template>& templates, const Values& values) {
  std::vector<std::string> out;
  for (const auto& t : templates) out.push_back(t.render(values));
  return out;
}

}  // namespace faultline::custom
