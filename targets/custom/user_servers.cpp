#include "targets/custom/user_servers.h"

#include <stdexcept>

#include "core/log.h"
#include "core/text.h"

namespace faultline::custom {
namespace {

// The controls of a systemd unit. Kill and pause signal the unit's processes (all of them, as
// a crash or a frozen machine would); a unit with Restart= set is restarted by systemd itself
// after a kill, which the history then shows as a short outage.
UserControls unit_controls(FieldReader& servers, const std::string& context,
                           const std::set<std::string>& allowed) {
  YAML::Node unit = servers.raw("unit");
  auto argv = [&](std::vector<std::string> words) {
    std::vector<Template> out;
    for (const auto& word : words)
      out.push_back(Template::read(YAML::Node(word), servers, context + ".unit", allowed));
    out.push_back(Template::read(unit, servers, context + ".unit", allowed));
    return out;
  };
  UserControls c;
  c.start = argv({"systemctl", "start"});
  c.kill = argv({"systemctl", "kill", "--signal=SIGKILL"});
  c.pause = argv({"systemctl", "kill", "--signal=SIGSTOP"});
  c.resume = argv({"systemctl", "kill", "--signal=SIGCONT"});
  c.logs = argv({"journalctl", "--no-pager", "--output=short-precise",
                 "--since=@{started_unix_s}", "--unit"});
  return c;
}

}  // namespace

std::string UserControls::missing_for(const std::string& fault) const {
  auto need = [](std::initializer_list<std::pair<const char*, bool>> controls) {
    std::vector<std::string> missing;
    for (const auto& [name, given] : controls)
      if (!given) missing.push_back(name);
    std::string text;
    for (std::size_t i = 0; i < missing.size(); ++i)
      text += (i == 0 ? "controls " : i + 1 == missing.size() ? " and " : ", ") + missing[i];
    return text;
  };
  if (fault == "kill") return need({{"kill", !kill.empty()}, {"start", !start.empty()}});
  if (fault == "pause") return need({{"pause", !pause.empty()}, {"resume", !resume.empty()}});
  return {};
}

std::optional<UserControls> read_user_controls(FieldReader& servers, const std::string& context,
                                               const std::set<std::string>& allowed) {
  if (!servers.has("controls") && !servers.has("unit")) return std::nullopt;
  if (servers.has("controls") && servers.has("unit"))
    servers.fail_key("unit", "give controls: {...} or unit: NAME, not both");
  std::set<std::string> names = allowed;
  names.insert("started_unix_s");
  if (servers.has("unit")) return unit_controls(servers, context, names);
  std::string at = context + ".controls";
  FieldReader controls(servers.mapping("controls", true), servers.file(), at);
  UserControls c;
  c.start = template_list(controls, "start", at, names, false);
  c.kill = template_list(controls, "kill", at, names, false);
  c.pause = template_list(controls, "pause", at, names, false);
  c.resume = template_list(controls, "resume", at, names, false);
  c.logs = template_list(controls, "logs", at, names, false);
  controls.finish();
  return c;
}

void UserServers::act(NodeControl& cluster, const std::string& node,
                      const std::vector<Template>& control, const char* what, const Values& v) {
  std::vector<std::string> argv = render_all(control, v);
  CommandResult r = cluster.run(node, argv);
  if (!r.ok())
    throw std::runtime_error(name_ + " " + what + " on " + node + " failed (exit " +
                             std::to_string(r.exit_code) + "): " + printable(r.output.substr(0, 300)));
}

// A fault's action is marked before it runs, so the end of the run undoes even a half-done one;
// its undo is unmarked once it ran.
void UserServers::apply(std::set<std::string>& marked, NodeControl& cluster, const std::string& node,
                        const std::vector<Template>& control, const char* what, const Values& v) {
  {
    std::lock_guard lock(mutex_);
    marked.insert(node);
  }
  act(cluster, node, control, what, v);
}

void UserServers::undo(std::set<std::string>& marked, NodeControl& cluster, const std::string& node,
                       const std::vector<Template>& control, const char* what, const Values& v) {
  act(cluster, node, control, what, v);
  std::lock_guard lock(mutex_);
  marked.erase(node);
}

std::vector<int> UserServers::kill(NodeControl& cluster, const std::string& node, const Values& v) {
  apply(killed_, cluster, node, controls_.kill, "kill", v);
  return {};
}

std::vector<int> UserServers::restart(NodeControl& cluster, const std::string& node, const Values& v) {
  undo(killed_, cluster, node, controls_.start, "start", v);
  return {};
}

std::vector<int> UserServers::pause(NodeControl& cluster, const std::string& node, const Values& v) {
  apply(paused_, cluster, node, controls_.pause, "pause", v);
  return {};
}

std::vector<int> UserServers::resume(NodeControl& cluster, const std::string& node, const Values& v) {
  undo(paused_, cluster, node, controls_.resume, "resume", v);
  return {};
}

void UserServers::restore_and_collect(NodeControl& cluster,
                                      const std::map<std::string, Values>& nodes) noexcept {
  std::set<std::string> paused, killed;
  {
    std::lock_guard lock(mutex_);
    paused = paused_;
    killed = killed_;
  }
  for (const auto& [node, v] : nodes) {
    try {
      if (paused.contains(node)) resume(cluster, node, v);
      if (killed.contains(node)) restart(cluster, node, v);
      if (controls_.logs.empty()) continue;
      CommandResult r = cluster.run(node, render_all(controls_.logs, v));
      NodeFiles& files = cluster.files();
      std::string path = files.node_dir(node) + "/" + name_ + ".log";
      files.write_file(node, path, r.output);
      files.fetch(node, path);
    } catch (const std::exception& e) {
      log::warn(name_ + " on " + node + ": could not restore or collect its log: " + e.what());
    }
  }
}

}  // namespace faultline::custom
