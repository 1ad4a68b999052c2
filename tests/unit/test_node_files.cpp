// The local NodeFiles on a real filesystem (a temporary folder stands for the host): node
// folders, atomic writes, the journal written before anything is made, and an undo that removes
// exactly what the run made. Also the journal itself and the child environment of a spawn.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/journal.h"
#include "cluster/local_cluster.h"
#include "cluster/local_files.h"

using namespace faultline;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/faultline-unit-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A run's files under a temporary "host": run folder, scratch folder and journal in `root`.
struct Fixture {
  TempDir root;
  fs::path run_dir = root.path() / "store" / "run";
  fs::path scratch = root.path() / "scratch";
  Journal journal{root.path() / "R.journal"};
  LocalFiles local{{run_dir, scratch, "R", {"n1", "n2"}}, journal};
  NodeFiles& files = local;  // through the interface, as targets see it

  std::vector<JournalEntry> entries() const { return read_journal(journal.path()).entries; }
  std::string at(const std::string& relative) const { return (root.path() / relative).string(); }
  std::vector<std::string> teardown() {
    return undo_journal(journal.path(),
                        [](const JournalEntry& e) { return remove_journaled_file(e.name); });
  }
};

}  // namespace

TEST_CASE("node files: each node has a folder in the run folder, made at construction") {
  Fixture f;
  CHECK(f.files.node_dir("n1") == (f.run_dir / "nodes" / "n1").string());
  CHECK(fs::is_directory(f.files.node_dir("n1")));
  CHECK(fs::is_directory(f.files.node_dir("n2")));
  CHECK_THROWS_AS(f.files.node_dir("n3"), std::invalid_argument);
  CHECK_THROWS_AS(f.files.write_file("n1", "relative/path", "x"), std::invalid_argument);
  CHECK(f.entries().empty());  // the node folders are the run's record, never removed
}

TEST_CASE("node files: a file outside the node folders is journaled before it is made, and undone") {
  Fixture f;
  std::string path = f.at("offset");
  f.files.write_file("n1", path, "+1.5\n");
  CHECK(slurp(path) == "+1.5\n");
  auto entries = f.entries();
  REQUIRE(entries.size() == 2);  // the temporary it is written beside, then the file
  CHECK(entries[0].kind == "file");
  CHECK(entries[0].name == path + ".tmp");
  CHECK(entries[1].name == path);
  f.files.write_file("n1", path, "-0.25\n");  // rewriting a file of the run: no new entries
  CHECK(slurp(path) == "-0.25\n");
  CHECK(f.entries().size() == 2);
  CHECK(!fs::exists(path + ".tmp"));
  std::vector<std::string> removed = f.teardown();
  CHECK(removed == std::vector<std::string>{"removed file " + path});
  CHECK(!fs::exists(path));
  CHECK(!fs::exists(f.journal.path()));
}

TEST_CASE("node files: files in a node folder are the run's own and are not journaled") {
  Fixture f;
  std::string conf = f.files.node_dir("n2") + "/redis.conf";
  f.files.write_file("n2", conf, "port 6379\n");
  f.files.write_file("n2", conf, "port 6380\n");
  CHECK(slurp(conf) == "port 6380\n");
  CHECK(f.entries().empty());
  f.teardown();
  CHECK(fs::exists(conf));
}

TEST_CASE("node files: a written file has mode 0644 whatever the umask") {
  Fixture f;
  mode_t old_mask = ::umask(077);
  f.files.write_file("n1", f.at("conf"), "x");
  ::umask(old_mask);
  CHECK((fs::status(f.at("conf")).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
         fs::perms::others_read));
}

TEST_CASE("node files: what the run did not make is never overwritten nor removed") {
  Fixture f;
  std::ofstream(f.at("theirs")) << "keep me";
  fs::create_directory(f.at("their-folder"));
  CHECK_THROWS_AS(f.files.write_file("n1", f.at("theirs"), "mine"), std::invalid_argument);
  CHECK_THROWS_AS(f.files.remove("n1", f.at("theirs")), std::invalid_argument);
  CHECK_THROWS_AS(f.files.remove("n1", f.at("their-folder")), std::invalid_argument);
  CHECK_THROWS_AS(f.files.make_dir("n1", f.at("their-folder")), std::invalid_argument);
  CHECK_THROWS_AS(f.files.remove("n1", f.files.node_dir("n1")), std::invalid_argument);
  CHECK(slurp(f.at("theirs")) == "keep me");
  CHECK(fs::is_directory(f.at("their-folder")));
  CHECK(f.entries().empty());
}

TEST_CASE("node files: make_dir journals the topmost folder it makes, owner and mode applied") {
  Fixture f;
  fs::create_directory(f.at("existing"));
  passwd* me = ::getpwuid(::geteuid());
  REQUIRE(me != nullptr);
  std::string deep = f.at("existing/a/b/c");
  f.files.make_dir("n1", deep, {me->pw_name, 0711});
  CHECK(fs::is_directory(deep));
  CHECK((fs::status(deep).permissions() & fs::perms::all) ==
        (fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec));
  struct stat st {};
  REQUIRE(::stat(deep.c_str(), &st) == 0);
  CHECK(st.st_uid == me->pw_uid);
  auto entries = f.entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == f.at("existing/a"));
  // Inside a folder of the run: writes, removes and folders need no entry of their own.
  f.files.make_dir("n1", deep + "/d");
  f.files.write_file("n1", deep + "/d/file", "x");
  f.files.make_dir("n1", deep);  // again: allowed, it is the run's
  CHECK(f.entries().size() == 1);
  f.files.remove("n1", deep + "/d");
  CHECK(!fs::exists(deep + "/d"));
  f.teardown();
  CHECK(!fs::exists(f.at("existing/a")));
  CHECK(fs::is_directory(f.at("existing")));  // not the run's: stays
}

TEST_CASE("node files: list, exists and read, with a tail") {
  Fixture f;
  std::string dir = f.files.node_dir("n1");
  for (const char* name : {"b", "a", "c"}) f.files.write_file("n1", dir + "/" + name, name);
  CHECK(f.files.list_dir("n1", dir) == std::vector<std::string>{"a", "b", "c"});
  CHECK(f.files.list_dir("n1", dir + "/missing").empty());
  CHECK(f.files.exists("n1", dir + "/a"));
  CHECK(!f.files.exists("n1", dir + "/missing"));
  f.files.write_file("n1", dir + "/log", "line 1\nline 2\nline 3\n");
  CHECK(f.files.read_file("n1", dir + "/log") == "line 1\nline 2\nline 3\n");
  CHECK(f.files.read_file("n1", dir + "/log", 7) == "line 3\n");
  CHECK(f.files.read_file("n1", dir + "/log", 1000) == "line 1\nline 2\nline 3\n");
  CHECK_THROWS_AS(f.files.read_file("n1", dir + "/missing"), std::runtime_error);
}

TEST_CASE("node files: fetch copies into the run folder what is not there yet") {
  Fixture f;
  std::string outside = f.at("pg");
  f.files.make_dir("n1", outside);
  f.files.make_dir("n1", outside + "/log");
  f.files.write_file("n1", outside + "/log/server.log", "started\n");
  f.files.write_file("n1", outside + "/initdb.log", "ok\n");
  f.files.fetch("n1", outside + "/initdb.log");
  f.files.fetch("n1", outside + "/log");
  CHECK(slurp(f.run_dir / "nodes" / "n1" / "initdb.log") == "ok\n");
  CHECK(slurp(f.run_dir / "nodes" / "n1" / "log" / "server.log") == "started\n");
  f.files.write_file("n1", outside + "/initdb.log", "again\n");
  f.files.fetch("n1", outside + "/initdb.log");  // a later fetch replaces the copy
  CHECK(slurp(f.run_dir / "nodes" / "n1" / "initdb.log") == "again\n");
  std::string in_place = f.files.node_dir("n1") + "/redis.log";
  f.files.write_file("n1", in_place, "here\n");
  f.files.fetch("n1", in_place);  // already in the run folder: stays as it is
  CHECK(slurp(in_place) == "here\n");
  f.teardown();
  CHECK(!fs::exists(outside));
  CHECK(slurp(f.run_dir / "nodes" / "n1" / "initdb.log") == "again\n");  // the copy stays
  CHECK_THROWS_AS(f.files.fetch("n1", f.at("missing")), std::runtime_error);
}

TEST_CASE("node files: scratch paths are named after the run and node, one component only") {
  Fixture f;
  CHECK(f.files.scratch_path("n2", "clock") == (f.scratch / "R-n2.clock").string());
  CHECK(fs::is_directory(f.scratch));
  CHECK_THROWS_AS(f.files.scratch_path("n2", "../x"), std::invalid_argument);
  CHECK_THROWS_AS(f.files.scratch_path("n2", ""), std::invalid_argument);
  CHECK_THROWS_AS(f.files.scratch_path("n9", "clock"), std::invalid_argument);
  CHECK(f.files.upload("n1", f.journal.path()) == f.journal.path().string());
  CHECK_THROWS_AS(f.files.upload("n1", f.at("missing.so")), std::runtime_error);
}

TEST_CASE("node files: concurrent writers of different files all land, each journaled once") {
  Fixture f;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&f, t] {
      for (int i = 0; i < 50; ++i)
        f.files.write_file("n1", f.at("w" + std::to_string(t)), std::to_string(i));
    });
  for (auto& w : writers) w.join();
  for (int t = 0; t < 4; ++t) CHECK(slurp(f.at("w" + std::to_string(t))) == "49");
  CHECK(f.entries().size() == 8);
}

TEST_CASE("journal: entries read back in order, paths with spaces intact, owner alive") {
  TempDir root;
  fs::path path = root.path() / "X.journal";
  {
    Journal journal(path);
    journal.add("netns", "flX-n1");
    journal.add("file", "/tmp/a folder/with spaces");
    CHECK_THROWS_AS(journal.add("file", "two\nlines"), std::invalid_argument);
    CHECK_THROWS_AS(journal.add("file", ""), std::invalid_argument);
  }
  JournalContents contents = read_journal(path);
  CHECK(contents.owner_pid == ::getpid());
  CHECK(owner_alive(contents));
  REQUIRE(contents.entries.size() == 2);
  CHECK(contents.entries[0].kind == "netns");
  CHECK(contents.entries[1].name == "/tmp/a folder/with spaces");
  std::vector<std::string> order;
  undo_journal(path, [&](const JournalEntry& e) {
    order.push_back(e.name);
    return std::string();
  });
  CHECK(order == std::vector<std::string>{"/tmp/a folder/with spaces", "flX-n1"});  // newest first
  CHECK(!fs::exists(path));
  CHECK(!owner_alive(JournalContents{}));
}

TEST_CASE("spawn environment: overrides replace or add, prefixes of other names untouched") {
  const char* base[] = {"PATH=/usr/bin", "FAULTLINE_CLOCK=keep", "LD_PRELOAD=/old.so", "EMPTY=",
                        nullptr};
  auto env = child_environment(base, {{"LD_PRELOAD", "/new.so"}, {"FAULTLINE_CLOCK_FILE", "/f"}});
  CHECK(env == std::vector<std::string>{"PATH=/usr/bin", "FAULTLINE_CLOCK=keep", "EMPTY=",
                                        "LD_PRELOAD=/new.so", "FAULTLINE_CLOCK_FILE=/f"});
  CHECK(child_environment(base, {}).size() == 4);
  CHECK_THROWS_AS(child_environment(base, {{"A=B", "x"}}), std::invalid_argument);
  CHECK_THROWS_AS(child_environment(base, {{"", "x"}}), std::invalid_argument);
}
