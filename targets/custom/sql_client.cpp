#include "targets/custom/sql_client.h"

#include "core/text.h"

namespace faultline::custom {
namespace {

using nlohmann::json;

const std::set<std::string> kConnectKeys = {"host", "port", "user", "password", "database"};

// Key `key` of `reader`: one statement (a string) or a list of them.
std::vector<Template> statements(FieldReader& reader, const std::string& key,
                                 const std::string& context, const std::set<std::string>& allowed,
                                 bool required) {
  if (reader.has(key) && reader.raw(key).IsScalar())
    return {Template::read(reader.raw(key), reader, context + "." + key, allowed)};
  return template_list(reader, key, context, allowed, required);
}

SqlMicroOp read_micro_op(FieldReader& sql, const std::string& f, const std::string& context,
                         const std::set<std::string>& allowed) {
  SqlMicroOp op;
  if (!sql.raw(f).IsMap()) {
    op.statements = statements(sql, f, context, allowed, true);
    return op;
  }
  const std::string at = context + "." + f;
  FieldReader reader(sql.raw(f), sql.file(), at);
  op.statements = statements(reader, "sql", at, allowed, true);
  if (f == "r") {
    std::string shape = reader.choice("result", {"value", "list", "rows"}, "value");
    op.shape = shape == "list" ? ReadShape::list : shape == "rows" ? ReadShape::rows : ReadShape::value;
    op.separator = reader.string("separator", ",");
    if (op.separator.empty()) reader.fail_key("separator", "must not be empty");
  }
  reader.finish();
  return op;
}

json parsed(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  return v.is_discarded() ? json(text) : v;
}

std::string result_text(const SqlResult& r) {
  std::string code = r.sqlstate.empty() ? "" : " [" + r.sqlstate + "]";
  if (!r.number.empty()) code += " (" + r.number + ")";
  return printable(r.message) + code;
}

Values with_op(Values values, const json& mop) {
  values["key"] = mop[1].dump();
  if (!mop[2].is_null()) values["value"] = mop[2].dump();
  return values;
}

class SqlClient final : public Client {
 public:
  SqlClient(const SqlSpec& spec, Values node_values, const ClientOptions& options)
      : spec_(spec), values_(std::move(node_values)), timeout_(options.timeout_ms) {}

  Completion invoke(const Op& op) override {
    if (op.f != "txn" || !op.value.is_array())
      return {OpType::fail, nullptr, "not sent: the sql client serves txn ops, not " + op.f};
    for (const json& mop : op.value)
      if (!mop.is_array() || mop.size() != 3 || !mop[0].is_string() || !mop[1].is_number_integer() ||
          !spec_.micro_ops.count(mop[0].get<std::string>()) ||
          !(mop[2].is_null() || mop[2].is_number_integer()))
        return {OpType::fail, nullptr, "not sent: micro-op " + mop.dump() + " is not mapped"};
    if (!connection_ || !connection_->is_open()) {
      std::string why;
      // Connecting has a budget of its own, as in the built-in PostgreSQL client: a short op
      // timeout must not starve every reconnect.
      auto budget = std::max(timeout_, std::chrono::milliseconds(2000));
      connection_ = connect_sql(spec_, values_, static_cast<int>(timeout_.count()),
                                SqlClock::now() + budget, why);
      if (!connection_) return {OpType::fail, nullptr, "connect: " + why};
    }
    auto deadline = SqlClock::now() + timeout_;
    SqlResult begin = connection_->exec(spec_.begin.render(values_), deadline);
    if (begin.kind != SqlResult::Kind::done) return abandon(begin, "begin");
    json completed = op.value;
    for (std::size_t i = 0; i < op.value.size(); ++i) {
      const json& mop = op.value[i];
      const SqlMicroOp& micro = spec_.micro_ops.at(mop[0].get<std::string>());
      Values v = with_op(values_, mop);
      SqlResult last;
      for (const auto& statement : micro.statements) {
        last = connection_->exec(statement.render(v), deadline);
        if (last.kind != SqlResult::Kind::done) return abandon(last, mop.dump());
      }
      if (mop[0] == "r") {
        std::string why;
        auto value = read_value(micro, last, why);
        if (!value) return abandon(last, mop.dump() + ": " + why, false);
        completed[i][2] = *value;
      }
    }
    SqlResult r = connection_->exec(spec_.commit.render(values_), deadline);
    OpType type = commit_outcome(spec_, r);
    if (type == OpType::ok) return {OpType::ok, std::move(completed), {}};
    // After an unknown outcome the connection's state is unknown too: start afresh.
    if (type == OpType::info && connection_) connection_->close();
    return {type, nullptr, "commit: " + (r.kind == SqlResult::Kind::done ? "answered " + r.command
                                                                          : result_text(r))};
  }

 private:
  // Something went wrong before COMMIT was sent: the transaction cannot have committed.
  Completion abandon(const SqlResult& r, const std::string& at, bool show_result = true) {
    if (connection_->is_open()) {
      SqlResult rollback = connection_->exec(spec_.rollback.render(values_), SqlClock::now() + timeout_);
      if (rollback.kind != SqlResult::Kind::done) connection_->close();
    }
    return {OpType::fail, nullptr, at + (show_result ? ": " + result_text(r) : "")};
  }

  const SqlSpec& spec_;
  Values values_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<SqlConnection> connection_;
};

}  // namespace

SqlSpec read_sql_spec(FieldReader& sql, const std::string& context,
                      const std::set<std::string>& node_placeholders) {
  SqlSpec spec;
  spec.protocol = sql.choice("protocol", {"postgres", "mysql"});
  spec.connect = template_map(sql, "connect", context, node_placeholders);
  for (const auto& [key, _] : spec.connect)
    if (!kConnectKeys.count(key))
      sql.fail(sql.raw("connect"), context + ".connect: unknown key '" + printable(key) +
                                       "' (expected host, port, user, password, database)");
  std::set<std::string> session = node_placeholders;
  session.insert("timeout_ms");
  spec.session = statements(sql, "session", context, session, false);
  spec.schema = statements(sql, "schema", context, node_placeholders, false);
  spec.begin = template_field(sql, "begin", context, node_placeholders);
  spec.commit = template_field(sql, "commit", context, node_placeholders, "COMMIT");
  spec.rollback = template_field(sql, "rollback", context, node_placeholders, "ROLLBACK");
  for (const std::string f : {"append", "w", "r"}) {
    if (!sql.has(f)) continue;
    std::set<std::string> allowed = node_placeholders;
    allowed.insert("key");
    if (f != "r") allowed.insert("value");
    spec.micro_ops.emplace(f, read_micro_op(sql, f, context, allowed));
  }
  if (!spec.micro_ops.count("r")) sql.fail_key("r", "missing: the SQL of a read micro-op");
  if (sql.has("errors")) {
    YAML::Node list = sql.raw("errors");
    if (!list.IsSequence()) sql.fail(list, context + ".errors: expected a list of {code, then}");
    for (std::size_t i = 0; i < list.size(); ++i) {
      FieldReader entry(list[i], sql.file(), context + ".errors[" + std::to_string(i) + "]");
      SqlErrorRule rule;
      rule.code = entry.string("code");
      std::string then = entry.choice("then", {"ok", "fail", "info"});
      rule.then = then == "ok" ? OpType::ok : then == "fail" ? OpType::fail : OpType::info;
      entry.finish();
      spec.errors.push_back(rule);
    }
  }
  return spec;
}

std::vector<std::string> sql_supported_ops(const SqlSpec& spec) {
  std::vector<std::string> names{"txn"};
  for (const auto& [f, _] : spec.micro_ops) names.push_back("txn:" + f);
  return names;
}

OpType commit_outcome(const SqlSpec& spec, const SqlResult& r) {
  switch (r.kind) {
    case SqlResult::Kind::done:
      return r.command == "ROLLBACK" ? OpType::fail : OpType::ok;
    case SqlResult::Kind::error:
      for (const auto& rule : spec.errors)
        if (rule.code == r.sqlstate || rule.code == r.number) return rule.then;
      return rolled_back(r) ? OpType::fail : OpType::info;
    case SqlResult::Kind::not_sent:
      return OpType::fail;
    case SqlResult::Kind::lost:
    case SqlResult::Kind::timeout:
      return OpType::info;
  }
  return OpType::info;
}

std::optional<json> read_value(const SqlMicroOp& op, const SqlResult& r, std::string& why) {
  if (op.shape == ReadShape::rows) {
    if (r.rows.empty()) return json(nullptr);
    json list = json::array();
    for (const auto& row : r.rows) list.push_back(row ? parsed(*row) : json(nullptr));
    return list;
  }
  if (r.rows.empty() || !r.rows[0]) return json(nullptr);
  if (op.shape == ReadShape::value) return parsed(*r.rows[0]);
  json list = json::array();
  const std::string& text = *r.rows[0];
  for (std::size_t from = 0; !text.empty() && from <= text.size();) {
    std::size_t to = std::min(text.find(op.separator, from), text.size());
    json element = json::parse(text.substr(from, to - from), nullptr, false);
    if (!element.is_number()) {
      why = "'" + printable(text.substr(from, to - from)) + "' in '" + printable(text) +
            "' is not a number";
      return std::nullopt;
    }
    list.push_back(element);
    from = to + op.separator.size();
  }
  return list;
}

std::unique_ptr<SqlConnection> connect_sql(const SqlSpec& spec, const Values& node_values,
                                           int timeout_ms, SqlClock::time_point deadline,
                                           std::string& why) {
  SqlEndpoint endpoint;
  for (const auto& [key, value] : spec.connect) endpoint[key] = value.render(node_values);
  auto connection = make_sql_connection(spec.protocol, endpoint);
  if (!connection->open(deadline)) {
    why = connection->error();
    return nullptr;
  }
  Values session = node_values;
  session["timeout_ms"] = std::to_string(timeout_ms);
  for (const auto& statement : spec.session) {
    SqlResult r = connection->exec(statement.render(session), deadline);
    if (r.kind != SqlResult::Kind::done) {
      why = "session statement: " + result_text(r);
      return nullptr;
    }
  }
  return connection;
}

void create_schema(const SqlSpec& spec, const Values& node_values) {
  constexpr int kSchemaTimeoutMs = 30000;
  auto deadline = SqlClock::now() + std::chrono::milliseconds(kSchemaTimeoutMs);
  std::string why;
  auto connection = connect_sql(spec, node_values, kSchemaTimeoutMs, deadline, why);
  if (!connection) throw TargetError("sql: cannot connect to create the schema: " + why);
  for (const auto& statement : spec.schema) {
    std::string text = statement.render(node_values);
    SqlResult r = connection->exec(text, deadline);
    if (r.kind != SqlResult::Kind::done)
      throw TargetError("sql: schema statement failed: " + printable(text) + ": " + result_text(r));
  }
}

std::unique_ptr<Client> make_sql_client(const SqlSpec& spec, Values node_values,
                                        const ClientOptions& options) {
  return std::make_unique<SqlClient>(spec, std::move(node_values), options);
}

}  // namespace faultline::custom
