// A target declared in the spec (target: { system: custom, servers: ..., client: { http: ... } }):
// how each node's server starts and when it is ready, and how each op maps onto an HTTP
// request (http_client.h). faultline starts the servers itself, through NodeControl, so kill /
// restart, pause, clock offsets (the preload library), log collection and teardown are the
// same as for the built-in targets. Not declared (yet): a primary probe, storage faults, SQL.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/text.h"
#include "targets/custom/http_client.h"
#include "targets/custom/template.h"
#include "targets/servers.h"
#include "targets/target.h"

namespace faultline::custom {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// When a node serves: its TCP port accepts, or an HTTP request's rules say ok.
struct Readiness {
  std::optional<Template> tcp_port;
  std::optional<HttpOp> http;
};

struct ServerSpec {
  std::string name;  // the process kill and pause act on ("etcd"), for reports
  std::vector<Template> command;
  std::vector<Template> bootstrap;  // the first node's first start, when it differs
  std::vector<std::pair<std::string, Template>> env;
  std::vector<std::pair<std::string, Template>> files;  // path in the node folder: contents
  std::map<std::string, int> ports;
  Template peer;  // one node in {peers}
  std::string peer_separator;
  Template log;
  Readiness ready;
  int ready_timeout_s = 60;
  std::vector<Template> version_command;
};

std::set<std::string> node_placeholders(const std::map<std::string, int>& ports) {
  std::set<std::string> names{"node", "address", "index"};
  for (const auto& [name, _] : ports) names.insert("ports." + name);
  return names;
}

Values node_values(const NodeInfo& node, int index, const std::map<std::string, int>& ports) {
  Values v{{"node", node.name}, {"address", node.address}, {"index", std::to_string(index)}};
  for (const auto& [name, port] : ports) v["ports." + name] = std::to_string(port);
  return v;
}

Readiness read_readiness(FieldReader& servers, const std::set<std::string>& allowed) {
  const std::string context = "target.servers.ready";
  FieldReader ready(servers.mapping("ready", true), servers.file(), context);
  Readiness r;
  if (ready.has("tcp")) r.tcp_port = template_field(ready, "tcp", context, allowed);
  if (ready.has("http")) {
    FieldReader http(ready.mapping("http", true), servers.file(), context + ".http");
    r.http = read_http_op(http, context + ".http", allowed, "GET");
    http.finish();
  }
  if (r.tcp_port.has_value() == r.http.has_value())
    servers.fail_key("ready", "give one of tcp: PORT or http: {url, ...}");
  ready.finish();
  return r;
}

ServerSpec read_servers(FieldReader& target) {
  const std::string context = "target.servers";
  FieldReader servers(target.mapping("servers", true), target.file(), context);
  ServerSpec spec;
  spec.name = servers.string("name");
  FieldReader ports(servers.mapping("ports", false), servers.file(), context + ".ports");
  if (servers.has("ports"))
    for (const auto& entry : servers.mapping("ports", false)) {
      std::string name = entry.first.as<std::string>();
      spec.ports[name] = static_cast<int>(ports.integer(name, std::nullopt, 1, 65535));
    }
  std::set<std::string> per_node = node_placeholders(spec.ports);
  spec.peer = template_field(servers, "peer", context, per_node, "{address}");
  spec.peer_separator = servers.string("peer_separator", ",");
  std::set<std::string> allowed = per_node;
  allowed.insert({"node_dir", "data_dir", "peers", "run_id"});
  spec.command = template_list(servers, "command", context, allowed, true);
  spec.bootstrap = template_list(servers, "bootstrap_command", context, allowed, false);
  spec.env = template_map(servers, "env", context, allowed);
  spec.files = template_map(servers, "files", context, allowed);
  for (const auto& [path, _] : spec.files)
    if (path.empty() || path[0] == '/' || path.find("..") != std::string::npos)
      servers.fail(servers.mapping("files", false),
                   context + ".files: '" + printable(path) +
                       "': expected a path inside the node folder (relative, no '..')");
  spec.log = template_field(servers, "log", context, allowed, "{node_dir}/" + spec.name + ".log");
  spec.ready = read_readiness(servers, allowed);
  spec.ready_timeout_s = static_cast<int>(servers.integer("ready_timeout_s", 60, 1, 3600));
  spec.version_command = template_list(servers, "version_command", context, allowed, false);
  servers.finish();
  return spec;
}

HttpOps read_client(FieldReader& target, const std::map<std::string, int>& ports) {
  FieldReader client(target.mapping("client", true), target.file(), "target.client");
  FieldReader http(client.mapping("http", true), target.file(), "target.client.http");
  HttpOps ops = read_http_ops(http, "target.client.http", node_placeholders(ports));
  http.finish();
  client.finish();
  return ops;
}

// Whether a TCP connection to address:port opens within `timeout`; `why` says why not.
bool tcp_accepts(const std::string& address, int port, std::chrono::milliseconds timeout,
                 std::string& why) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) {
    why = "not an IPv4 address: " + address;
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = "socket failed";
    return false;
  }
  bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  if (!open && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    open = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
           ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  if (!open) why = "port " + std::to_string(port) + " does not accept connections";
  return open;
}

class CustomTarget final : public Target, public ProcessControl, public ClockControl {
 public:
  CustomTarget(ServerSpec servers, HttpOps ops)
      : spec_(std::move(servers)), ops_(std::move(ops)), servers_(spec_.name) {}
  ~CustomTarget() override { stop(); }

  std::vector<std::string> supported_ops() const override {
    std::vector<std::string> names;
    for (const auto& [f, _] : ops_) names.push_back(f);
    return names;
  }

  void start(const ClusterContext& context) override {
    nodes_ = context.cluster.nodes();
    NodeFiles& files = context.cluster.files();
    std::string peers;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      peers += (i ? spec_.peer_separator : "") + spec_.peer.render(values_of(i));
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const std::string& node = nodes_[i].name;
      Values v = values_of(i);
      v["node_dir"] = files.node_dir(node);
      v["data_dir"] = v["node_dir"] + "/data";
      v["peers"] = peers;
      v["run_id"] = context.run_id;
      files.make_dir(node, v["data_dir"], {"", 0700});  // the mode databases insist on
      for (const auto& [path, contents] : spec_.files) {
        std::string full = v["node_dir"] + "/" + path;
        if (path.find('/') != std::string::npos) files.make_dir(node, full.substr(0, full.rfind('/')));
        files.write_file(node, full, contents.render(v));
      }
      SpawnOptions options{render_all(spec_.command, v), {}, spec_.log.render(v)};
      for (const auto& [name, value] : spec_.env) options.env.emplace_back(name, value.render(v));
      if (auto clock = clock_files_.find(node); clock != clock_files_.end()) {
        options.env.emplace_back("LD_PRELOAD", files.upload(node, clock_shift_library()));
        options.env.emplace_back("FAULTLINE_CLOCK_FILE", clock->second);
      }
      std::optional<SpawnOptions> first;
      if (i == 0 && !spec_.bootstrap.empty()) {
        first = options;
        first->argv = render_all(spec_.bootstrap, v);
      }
      servers_.spawn(context.cluster, node, spec_.name, std::move(options), {}, std::move(first));
      if (i == 0 && !spec_.version_command.empty()) {
        CommandResult r = context.cluster.run(node, render_all(spec_.version_command, v));
        version_ = r.output.substr(0, r.output.find('\n'));
      }
    }
    wait_healthy(std::chrono::seconds(spec_.ready_timeout_s));
  }

  void wait_healthy(std::chrono::seconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string problem;
    HttpSession session;
    while (std::chrono::steady_clock::now() < deadline) {
      problem = readiness_problem(session);
      if (problem.empty()) return;
      std::this_thread::sleep_for(200ms);
    }
    throw TargetError(spec_.name + " not ready after " + std::to_string(timeout.count()) +
                      " s: " + problem + "\n" + servers_.log_tails());
  }

  std::unique_ptr<Client> open_client(const NodeInfo& node, const ClientOptions& options) override {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].name == node.name) return make_http_client(ops_, values_of(i), options);
    throw TargetError("no node " + node.name);
  }

  void stop() noexcept override { servers_.stop_all(); }

  std::string version() const override {
    return spec_.name + (version_.empty() ? "" : " (" + printable(version_) + ")");
  }

  json limitations() const override {
    return {{"clock", "declared target: clock offsets reach a server only through libc "
                      "(LD_PRELOAD; a Go server such as etcd ignores them) and are not measured"}};
  }

  std::vector<int> kill(const std::string& node) override { return servers_.kill(node); }
  std::vector<int> restart(const std::string& node) override { return servers_.restart(node); }
  std::vector<int> pause(const std::string& node) override { return servers_.pause(node); }
  std::vector<int> resume(const std::string& node) override { return servers_.resume(node); }
  std::string process_description() const override { return spec_.name; }

  void use_clock_files(std::map<std::string, std::string> files) override {
    clock_shift_library();  // fail before anything starts when the library is missing
    clock_files_ = std::move(files);
  }
  // A declared target has no way to ask its server the time (yet).
  std::optional<double> measure_clock_offset_ms(const std::string&) override { return std::nullopt; }

 private:
  Values values_of(std::size_t i) const {
    return node_values(nodes_[i], static_cast<int>(i) + 1, spec_.ports);
  }

  // Empty when every node is ready; else the first node's problem.
  std::string readiness_problem(HttpSession& session) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Values v = values_of(i);
      std::string why;
      if (spec_.ready.tcp_port) {
        std::string text = spec_.ready.tcp_port->render(v);
        int port = std::atoi(text.c_str());
        if (port < 1 || port > 65535) return "ready.tcp: '" + printable(text) + "' is not a port";
        if (!tcp_accepts(nodes_[i].address, port, 1000ms, why)) return nodes_[i].name + ": " + why;
        continue;
      }
      const HttpOp& check = *spec_.ready.http;
      Completion c = classify(check, "ready", send(session, check, v, 1000));
      if (c.type != OpType::ok) return nodes_[i].name + ": " + c.error;
    }
    return {};
  }

  ServerSpec spec_;
  HttpOps ops_;
  ServerSet servers_;
  std::vector<NodeInfo> nodes_;
  std::map<std::string, std::string> clock_files_;
  std::string version_;
};

const bool registered = TargetRegistry::add("custom", [](FieldReader& options, int) {
  ServerSpec servers = read_servers(options);
  HttpOps ops = read_client(options, servers.ports);
  return std::make_unique<CustomTarget>(std::move(servers), std::move(ops));
});

}  // namespace
}  // namespace faultline::custom
