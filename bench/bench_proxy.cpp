// The link proxy's own cost: request/response round trips over loopback TCP to an echo server,
// straight and through faultline-proxy with no toxic (its `--upstream` mode: the same copy loop
// the NAT path runs, without needing namespaces), as added p50 / p99.
//
//   bench_proxy [ROUND_TRIPS]       default 20000 per row
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/stats.h"

namespace asio = boost::asio;
using asio::ip::tcp;
namespace bp = boost::process;

namespace {

// Echoes every connection until it closes; one thread per connection.
void serve_echo(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket(acceptor.get_executor());
    boost::system::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) return;
    std::thread([s = std::move(socket)]() mutable {
      s.set_option(tcp::no_delay(true));
      std::vector<char> buffer(64 * 1024);
      boost::system::error_code ec;
      for (;;) {
        std::size_t n = s.read_some(asio::buffer(buffer), ec);
        if (ec) return;
        asio::write(s, asio::buffer(buffer.data(), n), ec);
        if (ec) return;
      }
    }).detach();
  }
}

// Nanoseconds of each of `count` round trips of `bytes` bytes to `port`, sorted.
std::vector<std::int64_t> round_trips(asio::io_context& io, unsigned short port, std::size_t bytes,
                                int count) {
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  socket.set_option(tcp::no_delay(true));
  std::vector<char> out(bytes, 'x'), in(bytes);
  std::vector<std::int64_t> ns;
  ns.reserve(count);
  for (int i = 0; i < count; ++i) {
    auto start = std::chrono::steady_clock::now();
    asio::write(socket, asio::buffer(out));
    asio::read(socket, asio::buffer(in));
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ns.begin(), ns.end());
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::stoi(argv[1]) : 20000;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  unsigned short echo_port = acceptor.local_endpoint().port();
  std::thread echo([&] { serve_echo(acceptor); });
  echo.detach();

  auto config = std::filesystem::temp_directory_path() / "bench_proxy.toxics";
  std::ofstream(config) << "";
  const unsigned short proxy_port = 24699;
  bp::child proxy(FAULTLINE_PROXY_BINARY, "--listen-port", std::to_string(proxy_port), "--config",
                  config.string(), "--upstream", "127.0.0.1:" + std::to_string(echo_port),
                  bp::std_out > bp::null);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::printf("| message | round trips | straight p50 / p99 | through the proxy p50 / p99 | added p50 / p99 |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (std::size_t bytes : {64, 4096, 65536}) {
    round_trips(io, echo_port, bytes, count / 10);  // warm up
    auto straight = round_trips(io, echo_port, bytes, count);
    auto proxied = round_trips(io, proxy_port, bytes, count);
    auto us = [](const std::vector<std::int64_t>& sorted, double q) {
      return static_cast<double>(faultline::percentile(sorted, q)) / 1000;
    };
    double s50 = us(straight, 0.5), s99 = us(straight, 0.99);
    double p50 = us(proxied, 0.5), p99 = us(proxied, 0.99);
    std::printf("| %zu B | %d | %.1f / %.1f µs | %.1f / %.1f µs | %.1f / %.1f µs |\n", bytes, count,
                s50, s99, p50, p99, p50 - s50, p99 - s99);
  }
  proxy.terminate();
  std::filesystem::remove(config);
  return 0;
}
