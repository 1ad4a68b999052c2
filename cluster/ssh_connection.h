// One remote host reached with the OpenSSH client: how to log in, and one multiplexed
// connection (a ControlMaster) that every command of the run reuses, so a fault action costs
// a round trip, not a handshake.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/host_command.h"

namespace faultline {

enum class HostKeyPolicy {
  strict,      // the host's key must already be in known_hosts (ssh's StrictHostKeyChecking=yes)
  accept_new,  // an unknown host's key is added; a changed key is still refused
};

struct SshLogin {
  std::string address;           // IPv4 address of the host
  std::string user;              // empty: ssh's default (the harness user, or ~/.ssh/config)
  int port = 22;
  std::string identity_file;     // empty: ssh's default keys
  std::string known_hosts_file;  // empty: ~/.ssh/known_hosts
  HostKeyPolicy host_keys = HostKeyPolicy::strict;
  bool sudo = false;             // commands run through `sudo -n` (the user is not root)

  // The login as one journal line (JSON, no newline), and back. from_line throws
  // std::invalid_argument for a line it cannot read.
  std::string to_line() const;
  static SshLogin from_line(const std::string& line);
  std::string describe() const;  // user@address:port
};

// What a remote command printed: ssh's exit code 255 means the host was not reached.
struct RemoteOutput {
  int exit_code = -1;
  std::string out, err;
  bool unreachable() const { return exit_code == 255; }
};

class SshConnection {
 public:
  // After a host did not answer, commands fail at once (exit 255) for this long before it is
  // asked again: each try costs up to ssh's ConnectTimeout, and a run whose host went away
  // must still heal the others and end in bounded time.
  static constexpr std::chrono::seconds kAskAgainAfter{10};

  // `control_path`: the socket of this host's master connection (a harness path).
  SshConnection(SshLogin login, std::filesystem::path control_path);

  // Starts the master connection in the background (ssh -M -N -f). Throws std::runtime_error
  // with ssh's message when the host cannot be reached or refuses the login or its key.
  void open_master() const;
  // Ends the master connection, if any. Never throws.
  void close_master() const noexcept;

  // Runs argv on the host (through sudo when the login says so), each word quoted for the
  // remote shell. With `stdout_file`, stdout goes to that harness file instead of `out`.
  // Thread-safe. Within kAskAgainAfter of a try the host did not answer, returns exit 255 at
  // once, with that try's error.
  RemoteOutput run(const std::vector<std::string>& argv, const std::string& input = {},
                   HostCommand::Stderr stderr_to = HostCommand::Stderr::separate,
                   const std::filesystem::path& stdout_file = {}) const;

  const SshLogin& login() const { return login_; }

 private:
  std::vector<std::string> ssh_argv(const std::vector<std::string>& extra) const;

  SshLogin login_;
  std::filesystem::path control_path_;
  mutable std::mutex silence_mutex_;
  mutable std::optional<std::chrono::steady_clock::time_point> silent_since_;  // last unanswered try
  mutable std::string silence_error_;                                          // and what ssh said
};

}  // namespace faultline
