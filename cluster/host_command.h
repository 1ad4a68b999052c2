// Running a command on the harness's own host: the one place in cluster/ that starts a program
// and waits for it (ip, iptables inside namespaces, ssh, tar). Binary-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faultline {

struct HostCommand {
  std::vector<std::string> argv;      // argv[0] is looked up in PATH
  std::string input;                  // fed to stdin, which is then closed
  std::filesystem::path stdout_file;  // empty: stdout is captured; else written to this file
  enum class Stderr { merged, separate } stderr_to = Stderr::merged;  // into out, or into err
};

struct HostOutput {
  int exit_code = -1;  // 127: the program is not in PATH
  std::string out;     // stdout (and stderr when merged), byte for byte
  std::string err;     // stderr when separate
};

// Runs the command to completion. Never throws for a failing command: see exit_code.
HostOutput run_host_command(const HostCommand& command);

}  // namespace faultline
