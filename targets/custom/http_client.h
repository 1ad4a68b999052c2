// The declared HTTP client of a custom target (target.client.http): per op a request template
// and the rules that map a response onto ok / fail / info, so a system with an HTTP API needs a
// spec, not a C++ client.
//
// Outcomes follow README "Outcomes" unless a rule says otherwise: a request that never left the
// harness is fail; one sent and then timed out or cut off is info (it may yet act); a response
// goes through the op's rules and then the shared ones, first match wins; a response no rule
// matches is info; and a read is never info, only ok or fail (a read changes nothing).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "targets/custom/template.h"
#include "targets/http.h"
#include "targets/target.h"

namespace faultline::custom {

// One rule: when a response has one of `statuses` (any if empty) and, if `pointer` is set, the
// JSON field there equals `equals` (or, without `equals`, is present), the op is `then`. A
// string field equals the scalar's text; any other field the JSON the scalar reads as.
struct OutcomeRule {
  std::vector<long> statuses;
  std::string pointer;
  std::optional<std::string> equals;  // the YAML scalar as written
  OpType then = OpType::ok;
};

struct HttpOp {
  std::string method;
  Template url, body;
  std::vector<std::pair<std::string, Template>> headers;
  std::vector<OutcomeRule> rules;  // the op's own, then the shared ones
  // Reads: where the value is in the JSON response (absent there: the key has no value) and
  // whether it is base64 text. The value's text is parsed as JSON when it is JSON ("3" -> 3).
  std::string value_pointer;
  bool value_base64 = false;
};

// Op name (read, write, cas) -> how to perform it.
using HttpOps = std::map<std::string, HttpOp>;

// Reads one request and its outcome rules from `reader` (method, url, body, headers, outcomes);
// the shared headers and rules come after its own. No rules at all: any 2xx is ok.
HttpOp read_http_op(FieldReader& reader, const std::string& context,
                    const std::set<std::string>& allowed, const std::string& default_method,
                    const std::vector<std::pair<std::string, Template>>& shared_headers = {},
                    const std::vector<OutcomeRule>& shared_rules = {});

// Reads target.client.http. `node_placeholders`: what templates may say of the node a client
// talks to ({address}, {node}, {ports.client}, ...); each op adds its own ({key}, {value}, ...).
HttpOps read_http_ops(FieldReader& http, const std::string& context,
                      const std::set<std::string>& node_placeholders);

// Sends `op`'s request with its placeholders filled from `values`.
HttpResponse send(HttpSession& session, const HttpOp& op, const Values& values, long timeout_ms);

// The outcome of op `f` for `response`: type, a read's value, and unless ok, why. Pure: the
// rules above. The caller fills in a write's or cas's value.
Completion classify(const HttpOp& op, const std::string& f, const HttpResponse& response);

// A client of the node whose placeholders are `node_values`. `ops` must outlive it.
std::unique_ptr<Client> make_http_client(const HttpOps& ops, Values node_values,
                                         const ClientOptions& options);

}  // namespace faultline::custom
