// Quoting for a remote POSIX shell. ssh hands the remote side one string, which the login
// shell parses; every argv word faultline sends goes through shell_command, so no spec string
// (a path, a server flag, an environment value) can become shell syntax on the host.
#pragma once

#include <string>
#include <vector>

namespace faultline {

// `word` as one single-quoted shell word: the shell yields it back byte for byte (spaces,
// newlines, `;`, `$()`, backquotes, quotes included). The empty word becomes ''.
std::string shell_quote(const std::string& word);

// The argv as a command line for `sh -c`: each word quoted, joined by spaces.
// REQUIRES: argv is not empty.
std::string shell_command(const std::vector<std::string>& argv);

}  // namespace faultline
