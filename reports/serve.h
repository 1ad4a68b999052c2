// `faultline serve`: a small HTTP server on 127.0.0.1 that lists the runs in a store, newest
// first, coloured by verdict, each linking to its files. Boost.Beast on one Asio thread: every
// client is served at once (asynchronously), a client that sends nothing or reads nothing is
// dropped after a timeout, and files are streamed in chunks, so memory does not grow with file
// size. Only a run's own files inside the store are served; no symlink leads out of the store.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::report {

struct ServeOptions {
  int port = 8080;  // 0: any free port (see ReportServer::port)
  std::filesystem::path store = "store";
  // A client that has not sent a whole request header by then is dropped.
  int read_timeout_ms = 5000;
  // A client that accepts no byte of the response for this long is dropped (per chunk, so a slow
  // but reading client still gets a large file).
  int write_timeout_ms = 10000;
  // Connections open at once; one more is closed at accept (a limit on every queue).
  std::size_t connections_max = 64;
};

class ReportServer {
 public:
  // Binds 127.0.0.1:port. Throws std::runtime_error if it cannot.
  explicit ReportServer(const ServeOptions& options);
  ~ReportServer();
  ReportServer(const ReportServer&) = delete;
  ReportServer& operator=(const ReportServer&) = delete;

  int port() const;
  // Serves until `stop` becomes true (checked every 200 ms). Call from one thread.
  void run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The listing page: one row per run folder (store/<name>/<time>/). A run without results.json
// (killed, or not finished yet) or whose results say it did not finish is listed as unknown.
std::string render_run_index(const std::filesystem::path& store);

// "/runs/<name>/<time>/<file>" (percent-encoded, query ignored) -> the file, when <file> is one
// of a run's files and the path, with every symlink resolved, is a regular file inside the
// store. nullopt otherwise (traversal, a symlink out, a bad escape, a NUL).
std::optional<std::filesystem::path> run_file(const std::filesystem::path& store,
                                              std::string_view target);

// "%2e%2E" -> "..": nullopt on a malformed escape or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace faultline::report
