#include "reports/serve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "reports/format.h"

namespace faultline::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kRequestBytesMax = 16 * 1024;
constexpr int kPollMs = 200;
constexpr std::size_t kRunsListedMax = 1000;
const std::vector<std::string> kRunFiles = {"report.html", "summary.md", "junit.xml", "results.json",
                                            "spec.yaml", "history.jsonl", "faultline.log"};

struct RunEntry {
  std::string stamp;  // the folder name: UTC time, sorts by age
  std::string rel;    // <name>/<time>
  json results;
};

std::vector<RunEntry> list_runs(const fs::path& store) {
  std::vector<RunEntry> runs;
  std::error_code ec;
  for (const auto& test : fs::directory_iterator(store, ec)) {
    if (!test.is_directory() || test.is_symlink()) continue;
    for (const auto& run : fs::directory_iterator(test.path(), ec)) {
      std::ifstream in(run.path() / "results.json");
      if (!in) continue;
      json results = json::parse(in, nullptr, false);
      if (results.is_discarded()) results = json::object();
      runs.push_back({run.path().filename().string(),
                      test.path().filename().string() + "/" + run.path().filename().string(), results});
    }
  }
  std::sort(runs.begin(), runs.end(), [](const RunEntry& a, const RunEntry& b) { return a.stamp > b.stamp; });
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

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the browser went away
    sent += static_cast<std::size_t>(n);
  }
}

void respond(int fd, int status, const std::string& type, const std::string& body) {
  const char* reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" : "Bad Request";
  send_all(fd, "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
                   "\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + body);
}

// "/runs/<name>/<time>/<file>" -> the file, if it is one of a run's files inside the store.
std::optional<fs::path> run_file(const fs::path& store, const std::string& target) {
  const std::string prefix = "/runs/";
  if (target.rfind(prefix, 0) != 0) return std::nullopt;
  std::string rel = target.substr(prefix.size());
  if (rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos) return std::nullopt;
  fs::path path = store / rel;
  auto files = kRunFiles;
  files.push_back("report.png");
  if (std::find(files.begin(), files.end(), path.filename().string()) == files.end()) return std::nullopt;
  std::error_code ec;
  fs::path real = fs::canonical(path, ec), root = fs::canonical(store, ec);
  if (ec || real.string().rfind(root.string() + "/", 0) != 0 || !fs::is_regular_file(real)) return std::nullopt;
  return real;
}

}  // namespace

std::string render_run_index(const fs::path& store) {
  std::ostringstream out;
  auto runs = list_runs(store);
  out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>faultline runs</title><style>"
      << "body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
      << "td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}"
      << "tr.valid td:first-child{border-left:6px solid #2e7d32}tr.invalid td:first-child{border-left:6px solid #c62828}"
      << "tr.unknown td:first-child{border-left:6px solid #f9a825}.v{font-weight:600}.valid .v{color:#2e7d32}"
      << ".invalid .v{color:#c62828}.unknown .v{color:#b28704}a{color:#1565c0}</style></head><body>"
      << "<h1>faultline runs</h1><p>Store <code>" << html_escape(store.string()) << "</code>: " << runs.size()
      << " run(s), newest first.</p><table><thead><tr><th>time (UTC)</th><th>test</th><th>verdict</th>"
      << "<th>target</th><th>ops ok/fail/info</th><th>seed</th><th>files</th></tr></thead><tbody>\n";
  for (const auto& run : runs) {
    std::string verdict = run.results.value("verdict", std::string("unknown"));
    if (verdict != "valid" && verdict != "invalid") verdict = "unknown";
    const json& target = run.results.value("target", json::object());
    const json& stats = run.results.value("stats", json::object());
    std::string base = "/runs/" + html_escape(run.rel) + "/";
    out << "<tr class=\"" << verdict << "\"><td>" << html_escape(run.stamp) << "</td><td>"
        << html_escape(run.results.value("name", std::string("?"))) << "</td><td class=\"v\">" << verdict
        << "</td><td>" << html_escape(target.value("version", std::string("?"))) << ", "
        << target.value("nodes", 0) << " nodes</td><td>" << stats.value("ok_ops", 0) << " / "
        << stats.value("fail_ops", 0) << " / " << stats.value("info_ops", 0) << "</td><td>"
        << run.results.value("seed", std::uint64_t{0}) << "</td><td>";
    if (fs::exists(store / run.rel / "report.html"))
      out << "<a href=\"" << base << "report.html\">report</a> · ";
    out << "<a href=\"" << base << "summary.md\">summary</a> · <a href=\"" << base << "results.json\">results</a>"
        << " · <a href=\"" << base << "history.jsonl\">history</a></td></tr>\n";
  }
  out << "</tbody></table></body></html>\n";
  return out.str();
}

ReportServer::ReportServer(const ServeOptions& options) : options_(options) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int yes = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(options.port));
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 16) != 0) {
    std::string why = std::strerror(errno);
    ::close(listener_);
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(options.port) + ": " + why);
  }
  socklen_t length = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

ReportServer::~ReportServer() {
  if (listener_ >= 0) ::close(listener_);
}

void ReportServer::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    handle(client);
    ::close(client);
  }
}

void ReportServer::handle(int client) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kRequestBytesMax) {
    ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  std::istringstream line(request.substr(0, request.find("\r\n")));
  std::string method, target;
  line >> method >> target;
  if (method != "GET" && method != "HEAD") return respond(client, 405, "text/plain", "only GET\n");
  target = target.substr(0, target.find('?'));
  if (target == "/" || target == "/index.html")
    return respond(client, 200, "text/html; charset=utf-8", render_run_index(options_.store));
  auto path = run_file(options_.store, target);
  if (!path) return respond(client, 404, "text/plain", "not found\n");
  std::ifstream in(*path, std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  respond(client, 200, content_type(*path), body.str());
}

}  // namespace faultline::report
