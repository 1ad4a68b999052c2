// `faultline serve` on a real port: clients at once, timeouts, streaming with bounded memory,
// traversal and symlinks refused, unfinished runs listed as unknown. No root needed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "reports/serve.h"
#include "tests/unit/http_client.h"

using namespace faultline::report;
using namespace faultline::testing;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A store with one finished run (results.json) and one killed run (no results.json), removed
// at the end of the test.
struct TempStore {
  fs::path root;
  fs::path finished, killed;
  TempStore() {
    char pattern[] = "/tmp/faultline-serve-unit-XXXXXX";
    root = ::mkdtemp(pattern);
    finished = root / "unit-register" / "20260101T000000.000Z";
    killed = root / "unit-register" / "20260102T000000.000Z";
    fs::create_directories(finished);
    fs::create_directories(killed);
    std::ofstream(finished / "results.json")
        << R"({"name":"unit-register","verdict":"valid","finished":true,"seed":7,)"
        << R"("target":{"version":"etcd 3.4.23","nodes":3},"stats":{"ok_ops":5}})";
    std::ofstream(finished / "summary.md") << "# summary\n";
    std::ofstream(killed / "history.jsonl") << "{\"index\":0";
  }
  ~TempStore() { fs::remove_all(root); }
};

// A ReportServer on a free port, served from a thread until the end of the scope.
struct ServingThread {
  ReportServer server;
  std::atomic<bool> stop{false};
  std::thread thread;
  explicit ServingThread(const ServeOptions& options)
      : server(options), thread([this] { server.run(stop); }) {}
  ~ServingThread() {
    stop = true;
    thread.join();
  }
  int port() const { return server.port(); }
};

ServeOptions options_for(const fs::path& store) {
  ServeOptions options;
  options.port = 0;
  options.store = store;
  return options;
}

// Whether the server still holds `fd` open: no EOF yet (bytes waiting, as from a response
// still streaming, or a receive that would block).
bool still_open(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

std::uint64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  return 0;
}

}  // namespace

TEST_CASE("serve: silent and non-reading clients do not delay another client") {
  TempStore store;
  // A large file that a client asks for and never reads: the server's socket buffer fills.
  { std::ofstream(store.finished / "history.jsonl"); }
  fs::resize_file(store.finished / "history.jsonl", 64ull << 20);
  ServeOptions options = options_for(store.root);
  options.read_timeout_ms = 60000;  // longer than the test: only concurrency can serve the third
  options.write_timeout_ms = 60000;
  ServingThread serving(options);

  int silent[5];
  for (int& fd : silent) fd = http_connect(serving.port());
  int not_reading = http_connect(serving.port());
  http_send_get(not_reading, "/runs/unit-register/20260101T000000.000Z/history.jsonl");

  int fd = http_connect(serving.port(), 5000);
  http_send_get(fd, "/");
  std::string index = http_read_all(fd);
  ::close(fd);
  CHECK(contains(index, "HTTP/1.1 200 OK"));
  CHECK(contains(index, "unit-register"));
  // The others are still being served (or waited on), not timed out to make room.
  for (int s : silent) CHECK(still_open(s));
  CHECK(still_open(not_reading));
  for (int s : silent) ::close(s);
  ::close(not_reading);
}

TEST_CASE("serve: a client that sends nothing is dropped after read_timeout_ms") {
  TempStore store;
  ServeOptions options = options_for(store.root);
  options.read_timeout_ms = 200;
  ServingThread serving(options);
  int fd = http_connect(serving.port(), 10000);
  char byte;
  CHECK(::recv(fd, &byte, 1, 0) == 0);  // closed by the server well before our 10 s
  ::close(fd);
  CHECK(contains(http_get(serving.port(), "/"), "200 OK"));
}

TEST_CASE("serve: traversal through .., percent-encoded .. and symlinks is refused") {
  TempStore store;
  fs::path outside = store.root.string() + "-outside";
  fs::create_directories(outside);
  std::ofstream(outside / "summary.md") << "SECRET\n";
  std::ofstream(outside / "results.json") << R"({"verdict":"valid","finished":true})";
  // A run file that is a symlink out, and a run folder that is one.
  fs::create_symlink(outside / "summary.md", store.killed / "summary.md");
  fs::create_symlink(outside, store.root / "unit-register" / "20260103T000000.000Z");
  fs::create_symlink(outside / "results.json", store.killed / "results.json");
  ServingThread serving(options_for(store.root));
  const std::string run = "/runs/unit-register/20260101T000000.000Z/";

  CHECK(contains(http_get(serving.port(), run + "summary.md"), "# summary"));
  CHECK(
      contains(http_get(serving.port(), "/runs/unit%2Dregister/20260101T000000.000Z/summary%2emd"),
               "# summary"));
  for (const std::string& target : std::vector<std::string>{
           run + "../../../etc/passwd", "/runs/../../etc/passwd", "/runs/%2e%2e/%2e%2e/etc/passwd",
           "/runs/unit-register/%2E%2e/summary.md", "/runs/unit-register%2f..%2f..%2fetc/passwd",
           run + "summary.md%00", run + "summary.md%zz",
           "/runs/unit-register/20260102T000000.000Z/summary.md",
           "/runs/unit-register/20260103T000000.000Z/summary.md", run + "nodes"}) {
    INFO(target);
    std::string response = http_get(serving.port(), target);
    CHECK(contains(response, "404 Not Found"));
    CHECK_FALSE(contains(response, "SECRET"));
  }

  std::string index = http_get(serving.port(), "/");
  CHECK_FALSE(contains(index, "20260103T000000.000Z"));             // the symlinked run folder
  CHECK_FALSE(contains(index, "20260102T000000.000Z/summary.md"));  // the symlinked file
  // The killed run's results.json leads out of the store: it says nothing, the run is unknown.
  CHECK(contains(index, "<tr class=\"unknown\"><td>20260102T000000.000Z</td>"));
  fs::remove_all(outside);
}

TEST_CASE("serve: a run without results.json is listed as unknown, never green") {
  TempStore store;
  std::string index = render_run_index(store.root);
  CHECK(contains(index,
                 "<tr class=\"unknown\"><td>20260102T000000.000Z</td><td>unit-register</td>"
                 "<td class=\"v\">unknown</td>"));
  CHECK(contains(index, "no results.json"));
  CHECK(contains(index, "<tr class=\"valid\"><td>20260101T000000.000Z</td>"));
  // A results.json that says the run did not finish is unknown too, whatever its verdict says.
  std::ofstream(store.killed / "results.json") << R"({"verdict":"valid","finished":false})";
  CHECK(contains(render_run_index(store.root),
                 "<tr class=\"unknown\"><td>20260102T000000.000Z</td>"));
}

TEST_CASE("serve: percent_decode decodes escapes and refuses malformed ones and NUL") {
  CHECK(percent_decode("%2e%2E/a%20b") == std::optional<std::string>("../a b"));
  CHECK(percent_decode("plain") == std::optional<std::string>("plain"));
  CHECK_FALSE(percent_decode("%2").has_value());
  CHECK_FALSE(percent_decode("%g0").has_value());
  CHECK_FALSE(percent_decode("a%00b").has_value());
}

// The faultline binary itself, as a user starts it; its peak RSS read from /proc while serving.
TEST_CASE("serve: a 200 MB file is streamed with bounded memory by `faultline serve`") {
  TempStore store;
  const std::uint64_t size_bytes = 200ull << 20;
  {
    // Real bytes, not a sparse file, so that the page cache and reads behave as for a history.
    std::ofstream out(store.finished / "history.jsonl", std::ios::binary);
    std::string line(1023, 'x');
    line += '\n';
    for (std::uint64_t i = 0; i < size_bytes / line.size(); ++i) out << line;
  }
  namespace bp = boost::process;
  bp::ipstream out;
  bp::child server(FAULTLINE_BIN, "serve", "--port", "0", "--store", store.root.string(),
                   bp::std_out > out);
  std::string line;
  std::getline(out, line);  // "faultline: serving the runs in ... at http://127.0.0.1:PORT/ ..."
  auto at = line.find("127.0.0.1:");
  REQUIRE(at != std::string::npos);
  int port = std::stoi(line.substr(at + 10));
  std::uint64_t rss_before_kib = status_kib(server.id(), "VmRSS");

  int fd = http_connect(port);
  http_send_get(fd, "/runs/unit-register/20260101T000000.000Z/history.jsonl");
  std::uint64_t received = 0;
  char buffer[1 << 16];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) received += n;
  ::close(fd);
  std::uint64_t peak_kib = status_kib(server.id(), "VmHWM");
  ::kill(server.id(), SIGTERM);
  server.wait();

  std::cout << "serve 200 MB: received " << received << " bytes; server RSS before "
            << rss_before_kib << " KiB, peak " << peak_kib << " KiB" << std::endl;
  CHECK(received > size_bytes);  // the file and the header
  CHECK(received < size_bytes + 4096);
  // What serving the file added: whole-file buffering would add > 200 MB. (Growth, not the
  // peak itself: an AddressSanitizer build starts at ~300 MB of shadow and allocator.)
  CHECK(peak_kib - rss_before_kib < 64 * 1024);
  CHECK(server.exit_code() == 0);
}
