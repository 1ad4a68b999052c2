#include "reports/serve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// clang-format off: <utility> must come before Boost (Boost 1.74's asio/awaitable.hpp uses
// std::exchange without including it), and include sorting would move it after.
#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <utility>
// clang-format on
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "reports/format.h"
#include "reports/results.h"

namespace faultline::report {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

constexpr std::size_t kRequestHeaderBytesMax = 16 * 1024;
constexpr auto kStopPoll = std::chrono::milliseconds(200);
constexpr std::size_t kRunsListedMax = 1000;
constexpr std::size_t kFileChunkBytes = 64 * 1024;
const std::vector<std::string> kRunFiles = {"report.html",   "summary.md", "junit.xml",
                                            "results.json",  "spec.yaml",  "history.jsonl",
                                            "faultline.log", "run.json",   "report.png"};

// `path`, with every symlink resolved, lies inside the store (also false when it is absent).
bool inside_store(const fs::path& store, const fs::path& path) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) return false;
  fs::path root = fs::canonical(store, ec);
  return !ec && real.string().rfind(root.string() + "/", 0) == 0;
}

struct RunEntry {
  std::string stamp;  // the folder name: UTC time, sorts by age
  std::string test;   // the test folder's name
  std::string rel;    // <name>/<time>
  checker::Verdict verdict = checker::Verdict::unknown;
  json results;  // {} when absent: the run did not finish
};

// Run folders are real folders two levels down; symlinks (store/latest, or one planted to lead
// elsewhere) are not followed.
std::vector<RunEntry> list_runs(const fs::path& store) {
  std::vector<RunEntry> runs;
  std::error_code ec;
  for (const auto& test : fs::directory_iterator(store, ec)) {
    if (test.is_symlink() || !test.is_directory()) continue;
    std::error_code run_ec;
    for (const auto& run : fs::directory_iterator(test.path(), run_ec)) {
      if (run.is_symlink() || !run.is_directory()) continue;
      RunEntry entry{run.path().filename().string(), test.path().filename().string(),
                     test.path().filename().string() + "/" + run.path().filename().string(),
                     checker::Verdict::unknown, json::object()};
      fs::path results = run.path() / "results.json";
      if (inside_store(store, results)) {
        std::ifstream in(results);
        entry.results = json::parse(in, nullptr, false);
        if (!entry.results.is_object()) entry.results = json::object();
        entry.verdict = run_folder_verdict(run.path());
      }
      runs.push_back(std::move(entry));
    }
  }
  std::sort(runs.begin(), runs.end(),
            [](const RunEntry& a, const RunEntry& b) { return a.stamp > b.stamp; });
  if (runs.size() > kRunsListedMax) runs.resize(kRunsListedMax);
  return runs;
}

std::string content_type(const fs::path& path) {
  std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".xml") return "application/xml";
  if (ext == ".png") return "image/png";
  return "text/plain; charset=utf-8";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string index_row(const fs::path& store, const RunEntry& run) {
  std::ostringstream out;
  std::string verdict(checker::to_string(run.verdict));
  const json& target = run.results.value("target", json::object());
  const json& stats = run.results.value("stats", json::object());
  std::string base = "/runs/" + html_escape(run.rel) + "/";
  out << "<tr class=\"" << verdict << "\"><td>" << html_escape(run.stamp) << "</td><td>"
      << html_escape(run.results.value("name", run.test)) << "</td><td class=\"v\">" << verdict
      << "</td>";
  if (run.results.empty()) {
    out << "<td colspan=\"3\">no results.json: the run did not finish (killed?) or is still "
           "running</td><td>";
  } else {
    out << "<td>" << html_escape(target.value("version", std::string("?"))) << ", "
        << target.value("nodes", 0) << " nodes</td><td>" << stats.value("ok_ops", 0) << " / "
        << stats.value("fail_ops", 0) << " / " << stats.value("info_ops", 0) << "</td><td>"
        << run.results.value("seed", std::uint64_t{0}) << "</td><td>";
  }
  const char* separator = "";
  for (const char* file : {"report.html", "summary.md", "results.json", "history.jsonl",
                           "spec.yaml", "faultline.log"}) {
    if (!inside_store(store, store / run.rel / file)) continue;
    out << separator << "<a href=\"" << base << file << "\">" << fs::path(file).stem().string()
        << "</a>";
    separator = " · ";
  }
  out << "</td></tr>\n";
  return out.str();
}

// One connection: read a request (within read_timeout_ms), answer it, close. Lives as long as
// an asynchronous operation holds it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const ServeOptions& options, std::size_t& open_count)
      : stream_(std::move(socket)), options_(options), open_count_(open_count) {
    ++open_count_;
  }
  ~Session() { --open_count_; }

  void start() {
    parser_.header_limit(kRequestHeaderBytesMax);
    stream_.expires_after(std::chrono::milliseconds(options_.read_timeout_ms));
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

 private:
  void on_request(beast::error_code ec) {
    // Silent past the timeout, gone, or not HTTP: nothing worth answering.
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::eof)
      return;
    if (ec) return respond_text(http::status::bad_request, "text/plain", "bad request\n");
    const auto& request = parser_.get();
    head_ = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head_)
      return respond_text(http::status::method_not_allowed, "text/plain", "only GET and HEAD\n");
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    if (target == "/" || target == "/index.html")
      return respond_text(http::status::ok, "text/html; charset=utf-8",
                          render_run_index(options_.store));
    auto path = run_file(options_.store, target);
    if (path) {
      // canonical() left no symlink in the path; O_NOFOLLOW keeps one from being swapped in.
      file_ = ::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      struct stat info {};
      if (file_ >= 0 && ::fstat(file_, &info) == 0 && S_ISREG(info.st_mode))
        return stream_file(*path, static_cast<std::uint64_t>(info.st_size));
    }
    respond_text(http::status::not_found, "text/plain", "not found\n");
  }

  void respond_text(http::status status, const std::string& type, std::string body) {
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::content_type, type);
    response->set(http::field::cache_control, "no-store");
    response->keep_alive(false);
    response->body() = std::move(body);
    response->prepare_payload();
    if (head_) response->body().clear();  // the Content-Length a GET would get stays
    stream_.expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
    http::async_write(
        stream_, *response,
        [self = shared_from_this(), response](beast::error_code, std::size_t) { self->close(); });
  }

  void stream_file(const fs::path& path, std::uint64_t size_bytes) {
    file_header_.result(http::status::ok);
    file_header_.set(http::field::content_type, content_type(path));
    file_header_.set(http::field::cache_control, "no-store");
    file_header_.keep_alive(false);
    file_header_.content_length(size_bytes);
    header_writer_.emplace(file_header_);
    stream_.expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
    http::async_write_header(stream_, *header_writer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec || self->head_) return self->close();
                               self->write_chunk();
                             });
  }

  // The file goes out a chunk at a time: memory stays one chunk per client, and the write
  // timeout restarts with each chunk, so it measures a stalled client, not a large file.
  void write_chunk() {
    ssize_t n = ::read(file_, chunk_.data(), chunk_.size());
    if (n <= 0) return close();
    stream_.expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
    net::async_write(stream_, net::buffer(chunk_.data(), static_cast<std::size_t>(n)),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->write_chunk();
                     });
  }

  void close() {
    if (file_ >= 0) ::close(file_);
    file_ = -1;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  const ServeOptions& options_;
  std::size_t& open_count_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  bool head_ = false;
  int file_ = -1;
  http::response<http::empty_body> file_header_;
  std::optional<http::response_serializer<http::empty_body>> header_writer_;
  std::array<char, kFileChunkBytes> chunk_{};
};

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_digit(text[i + 1]), low = hex_digit(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::optional<fs::path> run_file(const fs::path& store, std::string_view target) {
  constexpr std::string_view prefix = "/runs/";
  if (target.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto rel = percent_decode(target.substr(prefix.size()));
  if (!rel) return std::nullopt;
  // Exactly <name>/<time>/<file>, no component that walks: checked after decoding, so that
  // %2e%2e and %2f are caught too.
  std::vector<std::string> parts;
  std::istringstream in(*rel);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  if (parts.size() != 3 || rel->back() == '/') return std::nullopt;
  for (const auto& part : parts)
    if (part.empty() || part == "." || part == ".." || part.find('\\') != std::string::npos)
      return std::nullopt;
  if (std::find(kRunFiles.begin(), kRunFiles.end(), parts[2]) == kRunFiles.end())
    return std::nullopt;
  fs::path path = store / parts[0] / parts[1] / parts[2];
  std::error_code ec;
  if (!inside_store(store, path)) return std::nullopt;
  fs::path real = fs::canonical(path, ec);
  if (ec || !fs::is_regular_file(real, ec)) return std::nullopt;
  return real;
}

std::string render_run_index(const fs::path& store) {
  std::ostringstream out;
  auto runs = list_runs(store);
  out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>faultline "
         "runs</title><style>"
      << "body{font:14px "
         "system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
      << "td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}"
      << "tr.valid td:first-child{border-left:6px solid #2e7d32}tr.invalid "
         "td:first-child{border-left:6px solid #c62828}"
      << "tr.unknown td:first-child{border-left:6px solid #f9a825}.v{font-weight:600}.valid "
         ".v{color:#2e7d32}"
      << ".invalid .v{color:#c62828}.unknown .v{color:#b28704}a{color:#1565c0}</style></head><body>"
      << "<h1>faultline runs</h1><p>Store <code>" << html_escape(store.string())
      << "</code>: " << runs.size()
      << " run(s), newest first.</p><table><thead><tr><th>time "
         "(UTC)</th><th>test</th><th>verdict</th>"
      << "<th>target</th><th>ops "
         "ok/fail/info</th><th>seed</th><th>files</th></tr></thead><tbody>\n";
  for (const auto& run : runs) out << index_row(store, run);
  out << "</tbody></table></body></html>\n";
  return out.str();
}

struct ReportServer::Impl {
  // Declared before the io_context: sessions still queued in it when it is destroyed point at
  // these.
  ServeOptions options;
  std::size_t open_count = 0;
  net::io_context io;
  tcp::acceptor acceptor{io};

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        if (open_count < options.connections_max)
          std::make_shared<Session>(std::move(socket), options, open_count)->start();
        // else: the socket closes here; the client may retry.
      }
      if (acceptor.is_open()) accept();
    });
  }
};

ReportServer::ReportServer(const ServeOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  tcp::endpoint endpoint(net::ip::address_v4::loopback(), static_cast<std::uint16_t>(options.port));
  beast::error_code ec;
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(options.port) + ": " +
                             ec.message());
}

ReportServer::~ReportServer() = default;

int ReportServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void ReportServer::run(const std::atomic<bool>& stop) {
  impl_->accept();
  while (!stop.load()) {
    impl_->io.run_for(kStopPoll);
    if (impl_->io.stopped()) impl_->io.restart();
  }
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace faultline::report
