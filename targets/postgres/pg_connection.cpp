#include "targets/postgres/pg_connection.h"

#include <poll.h>

#include <algorithm>

namespace faultline::pg {

namespace {

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value ? value : "";
}

struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;

}  // namespace

std::string Connection::libpq_error() const {
  return conn_ ? one_line(PQerrorMessage(conn_.get())) : std::string("not connected");
}

void Connection::close() { conn_.reset(); }

bool Connection::wait_socket(bool for_write, Clock::time_point deadline) {
  int socket = PQsocket(conn_.get());
  if (socket < 0) return false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{socket, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 60000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool Connection::open(const std::string& conninfo, Clock::time_point deadline) {
  close();
  error_.clear();
  conn_.reset(PQconnectStart(conninfo.c_str()));
  if (!conn_) {
    error_ = "out of memory";
    return false;
  }
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    error_ = libpq_error();
    close();
    return false;
  }
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      error_ = libpq_error();
      close();
      return false;
    }
    if (!wait_socket(state == PGRES_POLLING_WRITING, deadline)) {
      error_ = "connect timed out";
      close();
      return false;
    }
    state = PQconnectPoll(conn_.get());
  }
  if (PQsetnonblocking(conn_.get(), 1) != 0) {
    error_ = libpq_error();
    close();
    return false;
  }
  return true;
}

StepResult Connection::exec(const std::string& sql, const std::vector<std::string>& params,
                            Clock::time_point deadline) {
  using Kind = StepResult::Kind;
  StepResult out;
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    out.kind = Kind::not_sent;
    out.message = conn_ ? libpq_error() : "not connected";
    close();
    return out;
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  int queued = PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                                 nullptr, values.empty() ? nullptr : values.data(), nullptr,
                                 nullptr, 0);
  // From here on part of the statement may have reached the server: a failure is "lost", never
  // "not sent" (that is only for a connection known bad before anything was written, above).
  auto broken = [&](Kind kind, std::string message) {
    out.kind = kind;
    out.message = std::move(message);
    close();
    return out;
  };
  if (!queued) return broken(Kind::lost, "send: " + libpq_error());
  int flushed;
  while ((flushed = PQflush(conn_.get())) == 1)
    if (!wait_socket(true, deadline)) return broken(Kind::timeout, "timed out sending");
  if (flushed < 0) return broken(Kind::lost, "send: " + libpq_error());

  // Collect every result of the statement; the first error wins.
  bool have_error = false;
  while (true) {
    while (PQisBusy(conn_.get())) {
      if (!wait_socket(false, deadline)) return broken(Kind::timeout, "timed out waiting for the server");
      if (!PQconsumeInput(conn_.get())) return broken(Kind::lost, libpq_error());
    }
    ResultPtr result(PQgetResult(conn_.get()));
    if (!result) break;
    ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      if (have_error) continue;
      out.command = PQcmdStatus(result.get());
      for (int row = 0; row < PQntuples(result.get()); ++row) {
        if (PQnfields(result.get()) < 1 || PQgetisnull(result.get(), row, 0))
          out.rows.emplace_back(std::nullopt);
        else
          out.rows.emplace_back(PQgetvalue(result.get(), row, 0));
      }
    } else if (!have_error) {
      have_error = true;
      out.sqlstate = field(result.get(), PG_DIAG_SQLSTATE);
      out.severity = field(result.get(), PG_DIAG_SEVERITY_NONLOCALIZED);
      out.message = one_line(PQresultErrorMessage(result.get()));
      if (out.message.empty()) out.message = libpq_error();
    }
  }
  if (!have_error) {
    out.kind = Kind::done;
    return out;
  }
  // An error with no SQLSTATE is libpq's own (the connection broke mid-answer).
  if (out.sqlstate.empty() || PQstatus(conn_.get()) != CONNECTION_OK) {
    out.kind = Kind::lost;
    close();
    return out;
  }
  out.kind = Kind::error;
  return out;
}

}  // namespace faultline::pg
