// `faultline serve`: a small HTTP server on 127.0.0.1 that lists the runs in a store, newest
// first, coloured by verdict, each linking to its report. Plain POSIX sockets, one request at a
// time: a local viewer for one person, not a web server.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

namespace faultline::report {

struct ServeOptions {
  int port = 8080;                       // 0: any free port (see ReportServer::port)
  std::filesystem::path store = "store";
};

class ReportServer {
 public:
  // Binds 127.0.0.1:port. Throws std::runtime_error if it cannot.
  explicit ReportServer(const ServeOptions& options);
  ~ReportServer();
  ReportServer(const ReportServer&) = delete;
  ReportServer& operator=(const ReportServer&) = delete;

  int port() const { return port_; }
  // Serves until `stop` becomes true (checked every 200 ms).
  void run(const std::atomic<bool>& stop);

 private:
  void handle(int client);

  ServeOptions options_;
  int listener_ = -1;
  int port_ = 0;
};

// The listing page: one row per run folder (store/<name>/<time>/ with a results.json).
std::string render_run_index(const std::filesystem::path& store);

}  // namespace faultline::report
