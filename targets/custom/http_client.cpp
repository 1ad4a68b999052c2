#include "targets/custom/http_client.h"

#include <algorithm>

#include "core/text.h"

namespace faultline::custom {
namespace {

using nlohmann::json;

// Placeholders each op adds to the node's. Values are the register's JSON text (a string as
// itself), and base64 of it for APIs that take bytes as base64 (etcd's gateway).
const std::map<std::string, std::set<std::string>> kOpPlaceholders = {
    {"read", {"key", "key_base64"}},
    {"write", {"key", "key_base64", "value", "value_base64"}},
    {"cas", {"key", "key_base64", "old", "old_base64", "new", "new_base64"}},
};

// Whether a response field equals a rule's scalar: a string field by its text, anything else
// as the JSON the scalar reads as. So `equals: true` and `equals: "true"` both match "true" and
// true: a spec means the same after a YAML round trip (the saved spec.yaml drops the quotes).
bool field_equals(const json& field, const std::string& scalar) {
  if (field.is_string()) return field.get<std::string>() == scalar;
  json parsed = json::parse(scalar, nullptr, false);
  return !parsed.is_discarded() && field == parsed;
}

std::string checked_pointer(FieldReader& reader, const std::string& key) {
  std::string pointer = reader.string(key, "");
  try {
    (void)json::json_pointer(pointer);
  } catch (const json::exception&) {
    reader.fail_key(key, "'" + printable(pointer) + "' is not a JSON pointer (like /kvs/0/value)");
  }
  return pointer;
}

std::vector<OutcomeRule> read_rules(FieldReader& reader, const std::string& context) {
  std::vector<OutcomeRule> rules;
  if (!reader.has("outcomes")) return rules;
  YAML::Node list = reader.raw("outcomes");
  if (!list.IsSequence())
    reader.fail(list, context + ".outcomes: expected a list of {status, pointer, equals, then}");
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string at = context + ".outcomes[" + std::to_string(i) + "]";
    FieldReader entry(list[i], reader.file(), at);
    OutcomeRule rule;
    if (entry.has("status")) {
      YAML::Node status = entry.raw("status");
      YAML::Node items = status.IsSequence() ? status : YAML::Node(YAML::NodeType::Sequence);
      if (!status.IsSequence()) items.push_back(status);
      for (const auto& s : items) {
        long code = 0;
        if (!s.IsScalar() || !YAML::convert<long>::decode(s, code) || code < 100 || code > 599)
          entry.fail(s, at + ".status: expected an HTTP status (100 to 599) or a list of them");
        rule.statuses.push_back(code);
      }
    }
    rule.pointer = checked_pointer(entry, "pointer");
    if (entry.has("equals")) {
      YAML::Node equals = entry.raw("equals");
      if (rule.pointer.empty()) entry.fail(equals, at + ".equals: needs a pointer to compare");
      if (!equals.IsScalar()) entry.fail(equals, at + ".equals: expected a scalar");
      rule.equals = equals.Scalar();
    }
    std::string then = entry.choice("then", {"ok", "fail", "info"});
    rule.then = then == "ok" ? OpType::ok : then == "fail" ? OpType::fail : OpType::info;
    entry.finish();
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool matches(const OutcomeRule& rule, const HttpResponse& r, const json& body) {
  if (!rule.statuses.empty() &&
      std::find(rule.statuses.begin(), rule.statuses.end(), r.status) == rule.statuses.end())
    return false;
  if (rule.pointer.empty()) return true;
  json::json_pointer at(rule.pointer);
  if (!body.is_object() && !body.is_array()) return false;
  if (!body.contains(at)) return false;
  return !rule.equals || field_equals(body.at(at), *rule.equals);
}

std::string response_text(const HttpResponse& r) {
  return "HTTP " + std::to_string(r.status) + ": " + printable(r.body);
}

class HttpClient final : public Client {
 public:
  HttpClient(const HttpOps& ops, Values node_values, const ClientOptions& options)
      : ops_(ops), node_values_(std::move(node_values)), timeout_ms_(options.timeout_ms) {}

  Completion invoke(const Op& op) override {
    auto it = ops_.find(op.f);
    if (it == ops_.end()) return {OpType::fail, nullptr, "not sent: op " + op.f + " is not mapped"};
    if (op.f == "cas" && (!op.value.is_array() || op.value.size() != 2))
      return {OpType::fail, nullptr, "not sent: cas value must be [old, new]"};
    Values values = node_values_;
    auto put = [&](const std::string& name, const std::string& text) {
      values[name] = text;
      values[name + "_base64"] = base64_encode(text);
    };
    put("key", op.key);
    if (op.f == "write") put("value", value_text(op.value));
    if (op.f == "cas") {
      put("old", value_text(op.value[0]));
      put("new", value_text(op.value[1]));
    }
    Completion c = classify(it->second, op.f, send(session_, it->second, values, timeout_ms_));
    if (c.type != OpType::ok || op.f == "read") return c;
    c.value = op.value;
    return c;
  }

 private:
  const HttpOps& ops_;
  Values node_values_;
  long timeout_ms_;
  HttpSession session_;
};

}  // namespace

HttpOp read_http_op(FieldReader& reader, const std::string& context,
                    const std::set<std::string>& allowed, const std::string& default_method,
                    const std::vector<std::pair<std::string, Template>>& shared_headers,
                    const std::vector<OutcomeRule>& shared_rules) {
  HttpOp op;
  op.method = reader.choice("method", {"GET", "POST", "PUT", "DELETE", "PATCH"}, default_method);
  op.url = template_field(reader, "url", context, allowed);
  op.body = template_field(reader, "body", context, allowed, "");
  op.headers = shared_headers;
  for (auto& h : template_map(reader, "headers", context, allowed)) op.headers.push_back(std::move(h));
  op.rules = read_rules(reader, context);
  op.rules.insert(op.rules.end(), shared_rules.begin(), shared_rules.end());
  if (op.rules.empty()) {  // nothing said: any 2xx is ok, as HTTP means it
    OutcomeRule success;
    for (long s = 200; s < 300; ++s) success.statuses.push_back(s);
    op.rules.push_back(success);
  }
  return op;
}

HttpOps read_http_ops(FieldReader& http, const std::string& context,
                      const std::set<std::string>& node_placeholders) {
  auto shared_headers = template_map(http, "headers", context, node_placeholders);
  std::vector<OutcomeRule> shared_rules = read_rules(http, context);
  HttpOps ops;
  for (const auto& [f, own] : kOpPlaceholders) {
    if (!http.has(f)) continue;
    YAML::Node node = http.mapping(f, false);
    std::string at = context + "." + f;
    FieldReader reader(node, http.file(), at);
    std::set<std::string> allowed = node_placeholders;
    allowed.insert(own.begin(), own.end());
    HttpOp op = read_http_op(reader, at, allowed, "POST", shared_headers, shared_rules);
    if (f == "read") {
      op.value_pointer = checked_pointer(reader, "value");
      if (op.value_pointer.empty()) reader.fail_key("value", "missing: the JSON pointer of the value read");
      op.value_base64 = reader.choice("decode", {"none", "base64"}, "none") == "base64";
    }
    reader.finish();
    ops.emplace(f, std::move(op));
  }
  return ops;
}

HttpResponse send(HttpSession& session, const HttpOp& op, const Values& values, long timeout_ms) {
  std::vector<std::string> headers;
  for (const auto& [name, value] : op.headers) headers.push_back(name + ": " + value.render(values));
  return session.send(op.method, op.url.render(values), headers, op.body.render(values), timeout_ms);
}

Completion classify(const HttpOp& op, const std::string& f, const HttpResponse& response) {
  const bool read = f == "read";
  if (!response.request_sent) return {OpType::fail, nullptr, "not sent: " + response.error};
  if (!response.transport_ok())
    return {read ? OpType::fail : OpType::info, nullptr,
            (response.timed_out() ? "timeout: " : "") + response.error};
  json body = json::parse(response.body, nullptr, false);
  OpType type = OpType::info;
  for (const auto& rule : op.rules)
    if (matches(rule, response, body)) {
      type = rule.then;
      break;
    }
  if (read && type == OpType::info) type = OpType::fail;
  if (type != OpType::ok) return {type, nullptr, response_text(response)};
  if (!read) return {OpType::ok, nullptr, {}};
  if (!body.is_object() && !body.is_array())
    return {OpType::fail, nullptr, "read: the response is not JSON: " + response_text(response)};
  json::json_pointer at(op.value_pointer);
  if (!body.contains(at)) return {OpType::ok, nullptr, {}};  // the key has no value
  const json& found = body.at(at);
  if (!found.is_string()) return {OpType::ok, found, {}};
  std::string text = found.get<std::string>();
  if (op.value_base64) {
    try {
      text = base64_decode(text);
    } catch (const std::invalid_argument& e) {
      return {OpType::fail, nullptr, std::string("read: ") + e.what()};
    }
  }
  return {OpType::ok, parse_value(text), {}};
}

std::unique_ptr<Client> make_http_client(const HttpOps& ops, Values node_values,
                                         const ClientOptions& options) {
  return std::make_unique<HttpClient>(ops, std::move(node_values), options);
}

}  // namespace faultline::custom
