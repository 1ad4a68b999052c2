#include "cluster/host_command.h"

#include <boost/process.hpp>
#include <cassert>
#include <iterator>
#include <thread>

namespace faultline {

namespace bp = boost::process;

namespace {

std::string read_all(bp::ipstream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

HostOutput run_host_command(const HostCommand& command) {
  assert(!command.argv.empty());
  HostOutput result;
  auto program = bp::search_path(command.argv[0]);
  if (program.empty()) {
    result.exit_code = 127;
    result.out = command.argv[0] + ": not found in PATH";
    return result;
  }
  std::vector<std::string> args(command.argv.begin() + 1, command.argv.end());
  bp::ipstream out, err;
  bp::opstream in;
  bp::child child = [&] {
    bool merged = command.stderr_to == HostCommand::Stderr::merged;
    if (!command.stdout_file.empty()) {
      boost::filesystem::path file(command.stdout_file.string());
      return merged ? bp::child(program, bp::args(args), (bp::std_out & bp::std_err) > file,
                                bp::std_in < in)
                    : bp::child(program, bp::args(args), bp::std_out > file, bp::std_err > err,
                                bp::std_in < in);
    }
    return merged ? bp::child(program, bp::args(args), (bp::std_out & bp::std_err) > out,
                              bp::std_in < in)
                  : bp::child(program, bp::args(args), bp::std_out > out, bp::std_err > err,
                              bp::std_in < in);
  }();
  // stderr is read beside stdout so that neither pipe can fill up and stall the child.
  std::thread err_reader;
  if (command.stderr_to == HostCommand::Stderr::separate)
    err_reader = std::thread([&] { result.err = read_all(err); });
  in.write(command.input.data(), static_cast<std::streamsize>(command.input.size()));
  in.flush();
  in.pipe().close();
  if (command.stdout_file.empty()) result.out = read_all(out);
  if (err_reader.joinable()) err_reader.join();
  child.wait();
  result.exit_code = child.exit_code();
  return result;
}

}  // namespace faultline
