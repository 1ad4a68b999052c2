#include "cluster/ssh_connection.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "cluster/ssh_quote.h"

namespace faultline {

std::string SshLogin::to_line() const {
  return nlohmann::json{{"address", address},
                        {"user", user},
                        {"port", port},
                        {"identity_file", identity_file},
                        {"known_hosts_file", known_hosts_file},
                        {"accept_new", host_keys == HostKeyPolicy::accept_new},
                        {"sudo", sudo}}
      .dump();
}

SshLogin SshLogin::from_line(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("address"))
    throw std::invalid_argument("not an ssh login: " + line);
  SshLogin login;
  login.address = j.value("address", "");
  login.user = j.value("user", "");
  login.port = j.value("port", 22);
  login.identity_file = j.value("identity_file", "");
  login.known_hosts_file = j.value("known_hosts_file", "");
  login.host_keys = j.value("accept_new", false) ? HostKeyPolicy::accept_new : HostKeyPolicy::strict;
  login.sudo = j.value("sudo", false);
  return login;
}

std::string SshLogin::describe() const {
  return (user.empty() ? "" : user + "@") + address + ":" + std::to_string(port);
}

SshConnection::SshConnection(SshLogin login, std::filesystem::path control_path)
    : login_(std::move(login)), control_path_(std::move(control_path)) {}

std::vector<std::string> SshConnection::ssh_argv(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv{
      "ssh", "-o", "BatchMode=yes", "-o", "ControlPath=" + control_path_.string(),
      // A host that stops answering fails a command within seconds instead of hanging a fault
      // action: the harness records it and goes on.
      "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3",
      "-o", "LogLevel=ERROR",  // "Permanently added ..." would land in command output
      "-o",
      std::string("StrictHostKeyChecking=") +
          (login_.host_keys == HostKeyPolicy::accept_new ? "accept-new" : "yes"),
      "-p", std::to_string(login_.port)};
  if (!login_.known_hosts_file.empty())
    argv.insert(argv.end(), {"-o", "UserKnownHostsFile=" + login_.known_hosts_file});
  if (!login_.identity_file.empty())
    argv.insert(argv.end(), {"-i", login_.identity_file, "-o", "IdentitiesOnly=yes"});
  if (!login_.user.empty()) argv.insert(argv.end(), {"-l", login_.user});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

void SshConnection::open_master() const {
  // The master goes to the background holding the output it was given, so its output goes to
  // a file (a pipe would not see its end until the master exits). ControlPersist bounds how
  // long a master outlives a harness killed before it could end it.
  std::filesystem::path log = control_path_.string() + ".log";
  HostOutput r = run_host_command(
      {ssh_argv({"-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=600",
                 login_.address}),
       "", log});
  std::ifstream in(log);
  std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::error_code ignored;
  std::filesystem::remove(log, ignored);
  if (r.exit_code != 0) throw std::runtime_error("ssh to " + login_.describe() + " failed: " + message);
}

void SshConnection::close_master() const noexcept {
  try {
    run_host_command({ssh_argv({"-O", "exit", login_.address}), "", "/dev/null",
                      HostCommand::Stderr::separate});
  } catch (...) {
  }
}

RemoteOutput SshConnection::run(const std::vector<std::string>& argv, const std::string& input,
                                HostCommand::Stderr stderr_to,
                                const std::filesystem::path& stdout_file) const {
  {
    std::lock_guard lock(silence_mutex_);
    if (silent_since_ && std::chrono::steady_clock::now() - *silent_since_ < kAskAgainAfter)
      return {255, "", "not asked again yet (it did not answer a moment ago): " + silence_error_};
  }
  std::vector<std::string> remote = argv;
  if (login_.sudo) remote.insert(remote.begin(), {"sudo", "-n", "--"});
  // ControlMaster=no: use the master when it is up, else connect directly (it died with the
  // host's network and is not started again from a command, whose output it would hold open).
  HostOutput r = run_host_command(
      {ssh_argv({"-o", "ControlMaster=no", login_.address, shell_command(remote)}), input,
       stdout_file, stderr_to});
  RemoteOutput output{r.exit_code, std::move(r.out), std::move(r.err)};
  std::lock_guard lock(silence_mutex_);
  if (output.unreachable()) {
    silent_since_ = std::chrono::steady_clock::now();
    silence_error_ = output.err.empty() ? output.out : output.err;
  } else {
    silent_since_.reset();
  }
  return output;
}

}  // namespace faultline
