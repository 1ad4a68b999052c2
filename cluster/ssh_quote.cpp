#include "cluster/ssh_quote.h"

#include <cassert>

namespace faultline {

std::string shell_quote(const std::string& word) {
  // Inside single quotes nothing is special but the closing quote itself, so a quote in the
  // word ends the quoted run, adds an escaped quote, and opens a new run: ' -> '\''.
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string shell_command(const std::vector<std::string>& argv) {
  assert(!argv.empty());
  std::string line;
  for (const auto& word : argv) line += (line.empty() ? "" : " ") + shell_quote(word);
  return line;
}

}  // namespace faultline
