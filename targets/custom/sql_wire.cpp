#include "targets/custom/sql_wire.h"

#include <mysql.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "targets/postgres/pg_connection.h"

namespace faultline::custom {
namespace {

std::string value_or(const SqlEndpoint& endpoint, const std::string& key, std::string fallback) {
  auto it = endpoint.find(key);
  return it == endpoint.end() ? fallback : it->second;
}

// libpq's keyword=value form: a value is quoted, with ' and \ escaped.
std::string conninfo_value(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

class PostgresWire final : public SqlConnection {
 public:
  explicit PostgresWire(const SqlEndpoint& endpoint) {
    static const std::map<std::string, std::string> keyword = {
        {"host", "host"}, {"port", "port"}, {"user", "user"}, {"password", "password"},
        {"database", "dbname"}};
    for (const auto& [key, value] : endpoint)
      conninfo_ += keyword.at(key) + "=" + conninfo_value(value) + " ";
    conninfo_ += "application_name=faultline keepalives=1 keepalives_idle=5";
  }

  bool open(SqlClock::time_point deadline) override { return connection_.open(conninfo_, deadline); }
  bool is_open() const override { return connection_.is_open(); }
  void close() override { connection_.close(); }
  const std::string& error() const override { return connection_.error(); }

  SqlResult exec(const std::string& sql, SqlClock::time_point deadline) override {
    pg::StepResult r = connection_.exec(sql, {}, deadline);
    SqlResult out;
    using From = pg::StepResult::Kind;
    using To = SqlResult::Kind;
    out.kind = r.kind == From::done       ? To::done
               : r.kind == From::error    ? To::error
               : r.kind == From::not_sent ? To::not_sent
               : r.kind == From::timeout  ? To::timeout
                                          : To::lost;
    out.message = std::move(r.message);
    out.sqlstate = std::move(r.sqlstate);
    out.command = std::move(r.command);
    out.rows = std::move(r.rows);
    return out;
  }

 private:
  std::string conninfo_;
  pg::Connection connection_;
};

// libmariadb's non-blocking API: each call returns the events it waits for; we poll the
// socket for them until the deadline.
class MysqlWire final : public SqlConnection {
 public:
  explicit MysqlWire(const SqlEndpoint& endpoint) : endpoint_(endpoint) {}
  ~MysqlWire() override { close(); }

  bool open(SqlClock::time_point deadline) override {
    close();
    error_.clear();
    static const bool library = mysql_library_init(0, nullptr, nullptr) == 0;  // once, not per thread
    mysql_ = library ? mysql_init(nullptr) : nullptr;
    if (!mysql_) {
      error_ = "out of memory";
      return false;
    }
    mysql_options(mysql_, MYSQL_OPT_NONBLOCK, nullptr);
    const std::string host = value_or(endpoint_, "host", "127.0.0.1");
    const std::string user = value_or(endpoint_, "user", "root");
    const std::string password = value_or(endpoint_, "password", "");
    const std::string database = value_or(endpoint_, "database", "");
    const unsigned port = static_cast<unsigned>(std::stoul(value_or(endpoint_, "port", "3306")));
    MYSQL* connected = nullptr;
    int status = mysql_real_connect_start(&connected, mysql_, host.c_str(), user.c_str(),
                                          password.c_str(),
                                          database.empty() ? nullptr : database.c_str(), port,
                                          nullptr, 0);
    while (status) {
      status = wait(status, deadline);
      if (status < 0) {
        error_ = "connect timed out";
        close();
        return false;
      }
      status = mysql_real_connect_cont(&connected, mysql_, status);
    }
    if (!connected) {
      error_ = mysql_error(mysql_);
      close();
      return false;
    }
    return true;
  }

  bool is_open() const override { return mysql_ != nullptr; }

  void close() override {
    // COM_QUIT is one small write: it goes to the socket buffer even when the server is gone.
    if (mysql_) mysql_close(mysql_);
    mysql_ = nullptr;
  }

  const std::string& error() const override { return error_; }

  SqlResult exec(const std::string& sql, SqlClock::time_point deadline) override {
    using Kind = SqlResult::Kind;
    SqlResult out;
    if (!mysql_) {
      out.kind = Kind::not_sent;
      out.message = "not connected";
      return out;
    }
    auto broken = [&](Kind kind, std::string message) {
      out.kind = kind;
      out.message = std::move(message);
      close();
      return out;
    };
    int failed = 0;
    int status = mysql_real_query_start(&failed, mysql_, sql.c_str(), sql.size());
    while (status) {
      status = wait(status, deadline);
      if (status < 0) return broken(Kind::timeout, "timed out waiting for the server");
      status = mysql_real_query_cont(&failed, mysql_, status);
    }
    if (failed) return failure(out);
    MYSQL_RES* result = nullptr;
    status = mysql_store_result_start(&result, mysql_);
    while (status) {
      status = wait(status, deadline);
      if (status < 0) return broken(Kind::timeout, "timed out reading the result");
      status = mysql_store_result_cont(&result, mysql_, status);
    }
    if (!result) {
      if (mysql_field_count(mysql_) != 0) return failure(out);  // rows expected, none came
      out.kind = Kind::done;
      return out;
    }
    // store_result has the whole result in memory: fetching rows does not touch the socket.
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
      if (mysql_num_fields(result) < 1 || !row[0])
        out.rows.emplace_back(std::nullopt);
      else
        out.rows.emplace_back(std::string(row[0], mysql_fetch_lengths(result)[0]));
    }
    mysql_free_result(result);
    out.kind = Kind::done;
    return out;
  }

 private:
  // A failed call: the server's error (numbers below 2000) or the client library's (2000 and
  // up: the connection broke, the server went away), which closes the connection.
  SqlResult failure(SqlResult& out) {
    unsigned number = mysql_errno(mysql_);
    out.message = mysql_error(mysql_);
    out.number = std::to_string(number);
    if (number >= 2000 && number < 3000) {
      out.kind = SqlResult::Kind::lost;
      close();
      return out;
    }
    out.sqlstate = mysql_sqlstate(mysql_);
    out.kind = SqlResult::Kind::error;
    return out;
  }

  // Waits for the events `status` asks for; returns the events that happened, or -1 when the
  // deadline passed first.
  int wait(int status, SqlClock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SqlClock::now());
    long long wait_ms = left.count();
    if (status & MYSQL_WAIT_TIMEOUT) wait_ms = std::min<long long>(wait_ms, mysql_get_timeout_value_ms(mysql_));
    if (left.count() <= 0) return -1;
    short events = 0;
    if (status & MYSQL_WAIT_READ) events |= POLLIN;
    if (status & MYSQL_WAIT_WRITE) events |= POLLOUT;
    if (status & MYSQL_WAIT_EXCEPT) events |= POLLPRI;
    pollfd p{mysql_get_socket(mysql_), events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(wait_ms, 60000)));
    if (n < 0 && errno == EINTR) return status;  // try again: the caller's loop waits anew
    if (n == 0) {
      if (status & MYSQL_WAIT_TIMEOUT) return MYSQL_WAIT_TIMEOUT;
      return SqlClock::now() >= deadline ? -1 : status;
    }
    int happened = 0;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) happened |= MYSQL_WAIT_READ;
    if (p.revents & (POLLOUT | POLLHUP | POLLERR)) happened |= MYSQL_WAIT_WRITE;
    if (p.revents & POLLPRI) happened |= MYSQL_WAIT_EXCEPT;
    int asked = happened & status;
    return asked ? asked : status;
  }

  SqlEndpoint endpoint_;
  MYSQL* mysql_ = nullptr;
  std::string error_;
};

}  // namespace

std::unique_ptr<SqlConnection> make_sql_connection(const std::string& protocol,
                                                   const SqlEndpoint& endpoint) {
  if (protocol == "mysql") return std::make_unique<MysqlWire>(endpoint);
  return std::make_unique<PostgresWire>(endpoint);
}

}  // namespace faultline::custom
