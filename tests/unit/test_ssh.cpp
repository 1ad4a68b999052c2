// The remote shell quoting (each word must reach the remote argv verbatim, whatever a spec puts
// in it) and the spec's target.cluster.
#include <catch2/catch.hpp>

#include "cluster/host_command.h"
#include "cluster/ssh_quote.h"
#include "harness/spec.h"
#include "tests/unit/spec_errors.h"

using namespace faultline;
using faultline::testing::error_of;

namespace {

// What a POSIX shell makes of shell_command(words): the argv it runs, as printf sees it. The
// same parse the login shell on a remote host does with the line ssh hands it.
std::vector<std::string> parsed_by_sh(const std::vector<std::string>& words) {
  std::vector<std::string> argv{"printf", "%s\\0"};
  argv.insert(argv.end(), words.begin(), words.end());
  HostOutput r = run_host_command({{"sh", "-c", shell_command(argv)}, "", {}, HostCommand::Stderr::separate});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> out;
  for (std::size_t at = 0, end; (end = r.out.find('\0', at)) != std::string::npos; at = end + 1)
    out.push_back(r.out.substr(at, end - at));
  return out;
}

std::string cluster_spec(const std::string& cluster) {
  return "name: t\ntarget: { system: etcd, read: linearizable, cluster: " + cluster +
         " }\nworkload: { name: register }\ntime_limit_s: 5\nseed: 1\n";
}

}  // namespace

TEST_CASE("ssh quoting: shell syntax in a word reaches the remote argv verbatim") {
  std::vector<std::string> words{"a b",        "x; touch /tmp/pwned", "$(id)",  "`id`",
                                 "it's",       "\"double\"",          "'",      "''",
                                 "line\nnext", "\\",                  "$HOME",  "*",
                                 "-n",         "a\tb",                "&& ls |", "#comment"};
  CHECK(parsed_by_sh(words) == words);
  CHECK(parsed_by_sh({""}) == std::vector<std::string>{""});
}

TEST_CASE("ssh quoting: every word is one single-quoted run") {
  CHECK(shell_quote("plain") == "'plain'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_command({"echo", "a b"}) == "'echo' 'a b'");
}

TEST_CASE("spec: target.cluster lists remote hosts, and nodes stay n1..nN") {
  Test test = load_test_text(
      cluster_spec("{ hosts: [10.0.0.1, { name: db2, address: 10.0.0.2 }], user: deploy, "
                   "port: 2222, identity_file: /k, host_keys: accept-new, sudo: true }"),
      "spec.yaml");
  REQUIRE(test.spec.remote);
  CHECK(test.spec.node_count == 2);
  CHECK(test.spec.remote->hosts[0].name == "10.0.0.1");
  CHECK(test.spec.remote->hosts[1].name == "db2");
  CHECK(test.spec.remote->hosts[1].address == "10.0.0.2");
  CHECK(test.spec.remote->login.user == "deploy");
  CHECK(test.spec.remote->login.port == 2222);
  CHECK(test.spec.remote->login.host_keys == HostKeyPolicy::accept_new);
  CHECK(test.spec.remote->login.sudo);
  SshLogin defaults = load_test_text(cluster_spec("{ hosts: [10.0.0.1] }"), "s").spec.remote->login;
  CHECK(defaults.host_keys == HostKeyPolicy::strict);  // strict unless the spec says otherwise
  CHECK_FALSE(defaults.sudo);
}

TEST_CASE("spec: a bad target.cluster is an error at its line") {
  CHECK_THAT(error_of(cluster_spec("{ hosts: [db.example.com] }")),
             Catch::Contains("spec.yaml:2:") && Catch::Contains("not an IPv4 address"));
  CHECK_THAT(error_of(cluster_spec("{ hosts: [] }")), Catch::Contains("1 to 9 hosts"));
  CHECK_THAT(error_of(cluster_spec("{ hosts: [10.0.0.1], host_keys: yes }")),
             Catch::Contains("host_keys"));
  CHECK_THAT(error_of(cluster_spec("{ hosts: [10.0.0.1], password: x }")),
             Catch::Contains("password"));
  CHECK_THAT(error_of("name: t\ntarget: { system: etcd, nodes: 3, cluster: { hosts: [10.0.0.1] } }\n"
                      "workload: { name: register }\n"),
             Catch::Contains("lists 1 hosts"));
}
