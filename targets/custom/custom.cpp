// A target declared in the spec (target: { system: custom, servers: ..., client: ... }): how
// each node's server starts and when it is ready, and how each op maps onto an HTTP request
// (http_client.h) or SQL statements (sql_client.h). faultline starts the servers itself,
// through NodeControl, so kill / restart, pause, clock offsets (the preload library), log
// collection and teardown are the same as for the built-in targets. Or, on remote hosts, the
// servers are the user's (servers.controls or servers.unit, user_servers.h): faultline acts on
// them only through the commands given. Not declared (yet): a primary probe, storage faults.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <thread>

#include "core/log.h"
#include "core/text.h"
#include "targets/custom/http_client.h"
#include "targets/custom/sql_client.h"
#include "targets/custom/template.h"
#include "targets/custom/user_servers.h"
#include "targets/servers.h"
#include "targets/target.h"

namespace faultline::custom {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// When a node serves: its TCP port accepts, an HTTP request's rules say ok, a command exits 0,
// or an SQL query through the declared client answers (with `sql_equals` in its first column).
struct Readiness {
  std::optional<Template> tcp_port;
  std::optional<HttpOp> http;
  std::vector<Template> command;
  std::optional<Template> sql;
  std::optional<std::string> sql_equals;
};

struct ServerSpec {
  std::string name;  // the process kill and pause act on ("etcd"), for reports
  std::vector<Template> command;
  std::vector<Template> bootstrap;  // the first node's first start, when it differs
  std::vector<std::vector<Template>> setup;  // run to completion before a node's first start
  std::string user;  // who the server runs as (setpriv); empty: root
  int stop_signal = SIGTERM;
  bool sequential = false;  // start node by node, each ready before the next (Galera's joiners)
  std::vector<std::pair<std::string, Template>> env;
  std::vector<std::pair<std::string, Template>> files;  // path in the node folder: contents
  std::map<std::string, int> ports;
  Template peer;  // one node in {peers}
  std::string peer_separator;
  Template log;
  Readiness ready;
  int ready_timeout_s = 60;
  std::vector<Template> version_command;
  std::optional<UserControls> controls;  // the servers are the user's: none of the above starts
};

// Keys that say how faultline starts a server: meaningless for the user's own servers.
const char* const kStartKeys[] = {"command", "bootstrap_command", "setup", "user", "stop_signal",
                                  "start", "env", "files", "log"};

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
  r.command = template_list(ready, "command", context, allowed, false);
  if (ready.has("sql")) r.sql = template_field(ready, "sql", context, allowed);
  if (ready.has("equals")) {
    if (!r.sql) ready.fail_key("equals", "needs sql: the query whose first column to compare");
    r.sql_equals = ready.string("equals");
  }
  int given = r.tcp_port.has_value() + r.http.has_value() + !r.command.empty() + r.sql.has_value();
  if (given != 1)
    servers.fail_key("ready", "give one of tcp: PORT, http: {url, ...}, command: [argv], sql: QUERY");
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
  allowed.insert({"peers", "run_id"});
  spec.controls = read_user_controls(servers, context, allowed);
  const std::set<std::string> version_allowed = allowed;  // what the user's servers' values hold
  if (spec.controls)
    for (const char* key : kStartKeys)
      if (servers.has(key))
        servers.fail_key(key, "is how faultline starts a server; with controls (or unit) the "
                              "servers are the user's and faultline never starts them");
  allowed.insert({"node_dir", "work_dir", "data_dir"});
  spec.command = template_list(servers, "command", context, allowed, !spec.controls);
  spec.bootstrap = template_list(servers, "bootstrap_command", context, allowed, false);
  if (servers.has("setup")) {
    YAML::Node setup = servers.raw("setup");
    if (!setup.IsSequence()) servers.fail(setup, context + ".setup: expected a list of commands");
    for (std::size_t i = 0; i < setup.size(); ++i) {
      std::string at = context + ".setup[" + std::to_string(i) + "]";
      if (!setup[i].IsSequence() || setup[i].size() == 0)
        servers.fail(setup[i], at + ": expected a command, a non-empty list of strings");
      spec.setup.emplace_back();
      for (std::size_t j = 0; j < setup[i].size(); ++j)
        spec.setup.back().push_back(
            Template::read(setup[i][j], servers, at + "[" + std::to_string(j) + "]", allowed));
    }
  }
  spec.user = servers.string("user", "");
  static const std::map<std::string, int> kSignals = {
      {"TERM", SIGTERM}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL}};
  spec.stop_signal = kSignals.at(servers.choice("stop_signal", {"TERM", "INT", "QUIT", "KILL"}, "TERM"));
  spec.sequential = servers.choice("start", {"together", "one_by_one"}, "together") == "one_by_one";
  spec.env = template_map(servers, "env", context, allowed);
  spec.files = template_map(servers, "files", context, allowed);
  for (const auto& [path, _] : spec.files)
    if (path.empty() || path[0] == '/' || path.find("..") != std::string::npos)
      servers.fail(servers.mapping("files", false),
                   context + ".files: '" + printable(path) +
                       "': expected a path inside the node folder (relative, no '..')");
  spec.log = template_field(servers, "log", context, allowed, "{node_dir}/" + spec.name + ".log");
  spec.ready = read_readiness(servers, per_node);  // checked with a node's values alone
  spec.ready_timeout_s = static_cast<int>(servers.integer("ready_timeout_s", 60, 1, 3600));
  spec.version_command =
      template_list(servers, "version_command", context, spec.controls ? version_allowed : allowed, false);
  servers.finish();
  return spec;
}

// The declared client: exactly one of http and sql.
struct ClientSpec {
  std::optional<HttpOps> http;
  std::optional<SqlSpec> sql;
};

ClientSpec read_client(FieldReader& target, const std::map<std::string, int>& ports) {
  FieldReader client(target.mapping("client", true), target.file(), "target.client");
  ClientSpec spec;
  if (client.has("http")) {
    FieldReader http(client.mapping("http", true), target.file(), "target.client.http");
    spec.http = read_http_ops(http, "target.client.http", node_placeholders(ports));
    http.finish();
  }
  if (client.has("sql")) {
    FieldReader sql(client.mapping("sql", true), target.file(), "target.client.sql");
    spec.sql = read_sql_spec(sql, "target.client.sql", node_placeholders(ports));
    sql.finish();
  }
  if (spec.http.has_value() == spec.sql.has_value())
    target.fail_key("client", "give one of http: {...} or sql: {...}");
  client.finish();
  return spec;
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

std::string join_words(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) out += (out.empty() ? "" : " ") + word;
  return out;
}

// argv run as `user` (none: as is). setpriv execs in place (no forking parent, unlike runuser),
// so the spawned pid is the server and the die-with-the-harness signal survives the uid change.
std::vector<std::string> as_user(const std::string& user, std::vector<std::string> argv) {
  if (user.empty()) return argv;
  std::vector<std::string> full{"setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
                                "--pdeathsig", "keep", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

class CustomTarget final : public Target, public ProcessControl, public ClockControl {
 public:
  CustomTarget(ServerSpec servers, ClientSpec client)
      : spec_(std::move(servers)), client_(std::move(client)), servers_(spec_.name) {
    if (spec_.controls) user_.emplace(spec_.name, *spec_.controls);
  }
  ~CustomTarget() override { stop(); }

  std::vector<std::string> supported_ops() const override {
    if (client_.sql) return sql_supported_ops(*client_.sql);
    std::vector<std::string> names;
    for (const auto& [f, _] : *client_.http) names.push_back(f);
    return names;
  }

  void start(const ClusterContext& context) override {
    cluster_ = &context.cluster;
    nodes_ = context.cluster.nodes();
    run_id_ = context.run_id;
    started_unix_s_ = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    if (user_) {
      read_version(0, control_values(0));
    } else {
      start_servers(context);
    }
    wait_healthy(std::chrono::seconds(spec_.ready_timeout_s));
    if (client_.sql && !client_.sql->schema.empty()) create_schema(*client_.sql, values_of(0));
  }

  // Brings up a server on every node, as the spec's command says.
  void start_servers(const ClusterContext& context) {
    NodeFiles& files = context.cluster.files();
    std::string peers = peers_text();
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const std::string& node = nodes_[i].name;
      Values v = values_of(i);
      v["node_dir"] = files.node_dir(node);
      // A server run as another user may not traverse the run folder (a 0700 home or mkdtemp
      // folder): its files then live in a folder of its own, journaled, removed at stop.
      v["work_dir"] = spec_.user.empty() ? v["node_dir"] : "/tmp/faultline-" + context.run_id + "-" + node;
      if (!spec_.user.empty()) {
        files.make_dir(node, v["work_dir"], {spec_.user, 0711});
        work_dirs_.emplace_back(node, v["work_dir"]);
      }
      v["data_dir"] = v["work_dir"] + "/data";
      v["peers"] = peers;
      v["run_id"] = context.run_id;
      files.make_dir(node, v["data_dir"], {spec_.user, 0700});  // the mode databases insist on
      for (const auto& [path, contents] : spec_.files) {
        std::string full = v["work_dir"] + "/" + path;
        if (path.find('/') != std::string::npos) files.make_dir(node, full.substr(0, full.rfind('/')));
        files.write_file(node, full, contents.render(v));
      }
      run_setup(node, v);
      SpawnOptions options{as_user(spec_.user, render_all(spec_.command, v)), {}, spec_.log.render(v)};
      for (const auto& [name, value] : spec_.env) options.env.emplace_back(name, value.render(v));
      if (auto clock = clock_files_.find(node); clock != clock_files_.end()) {
        options.env.emplace_back("LD_PRELOAD", files.upload(node, clock_shift_library()));
        options.env.emplace_back("FAULTLINE_CLOCK_FILE", clock->second);
      }
      std::optional<SpawnOptions> first;
      if (i == 0 && !spec_.bootstrap.empty()) {
        first = options;
        first->argv = as_user(spec_.user, render_all(spec_.bootstrap, v));
      }
      // Kill and pause take the server's children too, as a crash or a frozen machine would.
      servers_.spawn(context.cluster, node, spec_.name, std::move(options), {spec_.stop_signal, true},
                     std::move(first));
      if (i == 0) read_version(0, v);
      if (spec_.sequential) wait_ready({i}, std::chrono::seconds(spec_.ready_timeout_s));
    }
  }

  void wait_healthy(std::chrono::seconds timeout) override {
    std::vector<std::size_t> all;
    for (std::size_t i = 0; i < nodes_.size(); ++i) all.push_back(i);
    wait_ready(all, timeout);
  }

  std::unique_ptr<Client> open_client(const NodeInfo& node, const ClientOptions& options) override {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].name == node.name)
        return client_.sql ? make_sql_client(*client_.sql, values_of(i), options)
                           : make_http_client(*client_.http, values_of(i), options);
    throw TargetError("no node " + node.name);
  }

  void stop() noexcept override {
    if (user_ && cluster_) {
      std::map<std::string, Values> nodes;
      for (std::size_t i = 0; i < nodes_.size(); ++i) nodes[nodes_[i].name] = control_values(i);
      user_->restore_and_collect(*cluster_, nodes);
      cluster_ = nullptr;  // once: the user's servers are left running
    }
    servers_.stop_all();
    for (const auto& [node, dir] : work_dirs_) {
      try {
        cluster_->files().remove(node, dir);
      } catch (const std::exception& e) {
        log::warn(spec_.name + ": could not remove " + dir + " (teardown will): " + e.what());
      }
    }
    work_dirs_.clear();
  }

  std::string version() const override {
    return spec_.name + (version_.empty() ? "" : " (" + printable(version_) + ")");
  }

  json limitations() const override {
    return {{"clock", "declared target: clock offsets reach a server only through libc "
                      "(LD_PRELOAD; a Go server such as etcd ignores them) and are not measured"}};
  }

  std::vector<int> kill(const std::string& node) override {
    return user_ ? user_->kill(*cluster_, node, control_values(index_of(node))) : servers_.kill(node);
  }
  std::vector<int> restart(const std::string& node) override {
    return user_ ? user_->restart(*cluster_, node, control_values(index_of(node)))
                 : servers_.restart(node);
  }
  std::vector<int> pause(const std::string& node) override {
    return user_ ? user_->pause(*cluster_, node, control_values(index_of(node))) : servers_.pause(node);
  }
  std::vector<int> resume(const std::string& node) override {
    return user_ ? user_->resume(*cluster_, node, control_values(index_of(node)))
                 : servers_.resume(node);
  }
  std::string process_description() const override {
    return user_ ? spec_.name + " (the user's servers, through the spec's controls)"
                 : spec_.name + " and its children";
  }

  std::string unable(const std::string& fault) const override {
    if (!spec_.controls) return {};
    if (fault == "clock")
      return "needs servers faultline starts (the preload library goes into their environment); "
             "target.servers.controls makes them the user's";
    std::string missing = spec_.controls->missing_for(fault);
    return missing.empty() ? "" : "needs target.servers." + missing + " (the servers are the user's)";
  }

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

  // What a control of the user's servers may name: the node's values, {peers}, {run_id} and
  // {started_unix_s} (the run's start, for a log command's --since).
  Values control_values(std::size_t i) const {
    Values v = values_of(i);
    v["peers"] = peers_text();
    v["run_id"] = run_id_;
    v["started_unix_s"] = started_unix_s_;
    return v;
  }

  std::string peers_text() const {
    std::string peers;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      peers += (i ? spec_.peer_separator : "") + spec_.peer.render(values_of(i));
    return peers;
  }

  std::size_t index_of(const std::string& node) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].name == node) return i;
    throw TargetError("no node " + node);
  }

  void read_version(std::size_t i, const Values& v) {
    if (spec_.version_command.empty()) return;
    CommandResult r = cluster_->run(nodes_[i].name, render_all(spec_.version_command, v));
    version_ = r.output.substr(0, r.output.find('\n'));
  }

  // The setup commands, in order, as the server's user; their output goes to setup.log.
  void run_setup(const std::string& node, const Values& v) {
    NodeFiles& files = cluster_->files();
    std::string log_path = v.at("node_dir") + "/setup.log";
    std::string transcript;
    for (const auto& command : spec_.setup) {
      std::vector<std::string> argv = render_all(command, v);
      CommandResult r = cluster_->run(node, as_user(spec_.user, argv));
      transcript += "$ " + join_words(argv) + "\n" + r.output;
      files.write_file(node, log_path, transcript);
      if (!r.ok())
        throw TargetError(spec_.name + ": setup on " + node + " failed (exit " +
                          std::to_string(r.exit_code) + "): " + join_words(argv) + "\n" +
                          log_tail(files, node, log_path, 12));
    }
  }

  void wait_ready(const std::vector<std::size_t>& which, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string problem;
    HttpSession session;
    while (std::chrono::steady_clock::now() < deadline) {
      problem.clear();
      for (std::size_t i : which) {
        problem = readiness_problem(session, i);
        if (!problem.empty()) break;
      }
      if (problem.empty()) return;
      std::this_thread::sleep_for(200ms);
    }
    throw TargetError(spec_.name + " not ready after " + std::to_string(timeout.count()) +
                      " s: " + problem + "\n" + servers_.log_tails());
  }

  // Empty when node i is ready; else why not.
  std::string readiness_problem(HttpSession& session, std::size_t i) {
    Values v = values_of(i);
    const std::string& name = nodes_[i].name;
    const Readiness& ready = spec_.ready;
    std::string why;
    if (ready.tcp_port) {
      std::string text = ready.tcp_port->render(v);
      int port = std::atoi(text.c_str());
      if (port < 1 || port > 65535) return "ready.tcp: '" + printable(text) + "' is not a port";
      return tcp_accepts(nodes_[i].address, port, 1000ms, why) ? "" : name + ": " + why;
    }
    if (ready.http) {
      Completion c = classify(*ready.http, "ready", send(session, *ready.http, v, 1000));
      return c.type == OpType::ok ? "" : name + ": " + c.error;
    }
    if (!ready.command.empty()) {
      CommandResult r = cluster_->run(name, render_all(ready.command, v));
      return r.ok() ? "" : name + ": ready command exit " + std::to_string(r.exit_code) + ": " +
                               printable(r.output.substr(0, 200));
    }
    auto connection = connect_sql(*client_.sql, v, std::nullopt, SqlClock::now() + 1s, why);
    if (!connection) return name + ": " + why;
    SqlResult r = connection->exec(ready.sql->render(v), SqlClock::now() + 1s);
    if (r.kind != SqlResult::Kind::done) return name + ": " + printable(r.message);
    if (ready.sql_equals && (r.rows.empty() || r.rows[0] != *ready.sql_equals))
      return name + ": ready query answered " +
             (r.rows.empty() || !r.rows[0] ? std::string("nothing") : printable(*r.rows[0]));
    return {};
  }

  ServerSpec spec_;
  ClientSpec client_;
  ServerSet servers_;
  std::optional<UserServers> user_;  // the user's servers (spec_.controls)
  NodeControl* cluster_ = nullptr;  // set by start()
  std::string run_id_, started_unix_s_;
  std::vector<NodeInfo> nodes_;
  std::vector<std::pair<std::string, std::string>> work_dirs_;  // outside the node folders
  std::map<std::string, std::string> clock_files_;
  std::string version_;
};

const bool registered = TargetRegistry::add("custom", [](FieldReader& options, int) {
  ServerSpec servers = read_servers(options);
  if (servers.controls && !options.has("cluster"))
    options.fail_key("servers", "controls (or unit) act on the user's own servers, on the hosts "
                                "of target.cluster; on local nodes, give command: instead");
  ClientSpec client = read_client(options, servers.ports);
  if (servers.ready.sql && !client.sql)
    options.fail_key("servers", "ready: sql needs client: sql (the connection it queries through)");
  return std::make_unique<CustomTarget>(std::move(servers), std::move(client));
});

}  // namespace
}  // namespace faultline::custom
