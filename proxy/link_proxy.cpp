// faultline-proxy: the userspace TCP proxy behind the link faults (latency, bandwidth,
// slow-close, timeout, reset-peer), for a kernel without tc netem. One runs inside each node's
// network namespace; iptables NAT in that namespace (chain FL-PROXY, nemesis/link_proxy.cpp)
// redirects the node's outgoing TCP connections to its peers here, so servers need no
// configuration change. The proxy learns where a connection was going from SO_ORIGINAL_DST,
// connects there itself with SO_MARK set (the NAT chain lets marked sockets through, or the
// proxy would catch its own connections), and copies bytes both ways.
//
// Faults are Toxiproxy's toxics, read from a config file the nemesis rewrites atomically
// (polled every kConfigPollMs; a rename changes the inode). One toxic a line:
//   ID KIND PEER DIRECTION PROBABILITY A B
// KIND latency (A ms ± B ms), bandwidth (A KB/s), slow-close (A ms), timeout, reset-peer;
// PEER the other node's IPv4 address; DIRECTION send (bytes this node sends to PEER) or
// receive (bytes PEER sends back on this node's connections). A connection rolls PROBABILITY
// once per toxic ID (Toxiproxy's toxicity): the toxic applies to it or not, for its lifetime.
//
// Semantics, and why: latency delays each chunk read by its own draw but never reorders (TCP
// cannot); timeout holds the bytes (stops reading once kMaxQueuedBytes wait) and keeps both
// sockets open, as a black-holed link whose TCP retransmits until it heals, after which the
// held bytes flow; reset-peer closes both sockets with RST (SO_LINGER 0), at once for the
// connections it applies to and for every new one; slow-close delays passing on an EOF.
//
// `--upstream IP:PORT` sends every connection there instead (no NAT needed): bench/ measures
// the proxy's own overhead that way.
#include <netinet/in.h>  // before the kernel header, whose libc-compat guards then hold
#include <linux/netfilter_ipv4.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr int kConfigPollMs = 20;
constexpr std::size_t kReadChunkBytes = 16 * 1024;
constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;  // per direction: then stop reading

enum Direction { kSend = 0, kReceive = 1 };

struct Toxic {
  std::uint64_t id = 0;
  std::string kind;
  asio::ip::address_v4 peer;
  Direction direction = kSend;
  double probability = 1;
  double a = 0, b = 0;
};

// What the toxics that apply to one direction of one connection add up to.
struct Effects {
  double latency_ms = 0, jitter_ms = 0;
  double rate_bytes_per_ms = 0;  // 0: unlimited
  double slow_close_ms = 0;
  bool blocked = false;
  bool reset = false;
};

std::vector<Toxic> parse_config(const std::string& text) {
  std::vector<Toxic> toxics;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Toxic t;
    std::string peer, direction;
    if (!(fields >> t.id >> t.kind >> peer >> direction >> t.probability)) continue;
    fields >> t.a >> t.b;
    boost::system::error_code ec;
    t.peer = asio::ip::make_address_v4(peer, ec);
    if (ec) continue;
    t.direction = direction == "receive" ? kReceive : kSend;
    toxics.push_back(t);
  }
  return toxics;
}

class Proxy;

// One proxied connection: the local server's socket, the socket to the peer, and a pump each
// way. Lives as long as an asynchronous operation holds it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Proxy& proxy, tcp::socket local, asio::ip::address_v4 peer)
      : proxy_(proxy), local_(std::move(local)), remote_(local_.get_executor()), peer_(peer),
        pumps_{Pump(local_, remote_), Pump(remote_, local_)} {}

  void start(const tcp::endpoint& destination, int mark);
  // The toxics changed: reset if told to, unblock held directions.
  void reconsider();
  const asio::ip::address_v4& peer() const { return peer_; }
  bool closed() const { return closed_; }

 private:
  struct Chunk {
    std::vector<char> bytes;
    Clock::time_point due;
  };
  struct Pump {
    Pump(tcp::socket& from_socket, tcp::socket& to_socket)
        : from(from_socket), to(to_socket), timer(from_socket.get_executor()) {}
    tcp::socket& from;
    tcp::socket& to;
    std::array<char, kReadChunkBytes> buffer{};
    std::deque<Chunk> queue;
    std::size_t queued_bytes = 0;
    bool reading = false, writing = false, waiting = false, eof = false, finished = false;
    Clock::time_point last_due{}, next_free{};
    asio::steady_timer timer;
  };

  Effects effects(Direction d);
  void read(Direction d);
  void write(Direction d);
  void finish(Direction d);
  void reset();
  void close();

  Proxy& proxy_;
  tcp::socket local_, remote_;
  asio::ip::address_v4 peer_;
  std::array<Pump, 2> pumps_;
  std::map<std::uint64_t, bool> rolls_;  // toxic id -> applies to this connection
  bool closed_ = false;
};

class Proxy {
 public:
  Proxy(asio::io_context& io, int listen_port, std::string config_path, int mark,
        std::optional<tcp::endpoint> upstream, std::uint64_t seed)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), listen_port)),
        config_path_(std::move(config_path)), mark_(mark), upstream_(upstream), rng_(seed),
        poll_(io) {}

  void run() {
    std::printf("faultline-proxy: listening on 127.0.0.1:%d, toxics from %s\n",
                acceptor_.local_endpoint().port(), config_path_.c_str());
    std::fflush(stdout);
    poll_config();
    accept();
    io_.run();
  }

  const std::vector<Toxic>& toxics() const { return toxics_; }
  bool roll(double probability) {
    return probability >= 1 || std::uniform_real_distribution<double>(0, 1)(rng_) < probability;
  }
  double draw_jitter(double jitter_ms) {
    return jitter_ms <= 0 ? 0 : std::uniform_real_distribution<double>(-jitter_ms, jitter_ms)(rng_);
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) open(std::move(socket));
      accept();
    });
  }

  void open(tcp::socket socket) {
    tcp::endpoint destination;
    if (upstream_) {
      destination = *upstream_;
    } else {
      sockaddr_in original{};
      socklen_t length = sizeof original;
      if (::getsockopt(socket.native_handle(), SOL_IP, SO_ORIGINAL_DST, &original, &length) != 0)
        return;  // not redirected to us: nothing to forward to
      destination = tcp::endpoint(asio::ip::address_v4(ntohl(original.sin_addr.s_addr)),
                                  ntohs(original.sin_port));
    }
    auto connection =
        std::make_shared<Connection>(*this, std::move(socket), destination.address().to_v4());
    // Pruned here too, so that reconnect storms (reset-peer) keep the list to the live ones.
    connections_.remove_if([](const std::weak_ptr<Connection>& c) { return c.expired(); });
    connections_.push_back(connection);
    connection->start(destination, mark_);
  }

  // Re-reads the config when the file was replaced (a new inode) or changed.
  void poll_config() {
    struct stat st {};
    if (::stat(config_path_.c_str(), &st) == 0) {
      auto stamp = std::make_tuple(st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size);
      if (stamp != stamp_) {
        stamp_ = stamp;
        std::ifstream in(config_path_);
        std::ostringstream text;
        text << in.rdbuf();
        toxics_ = parse_config(text.str());
        std::printf("faultline-proxy: %zu toxics in force\n", toxics_.size());
        std::fflush(stdout);
        connections_.remove_if([](const std::weak_ptr<Connection>& c) { return c.expired(); });
        for (auto& weak : connections_)
          if (auto c = weak.lock()) c->reconsider();
      }
    }
    poll_.expires_after(std::chrono::milliseconds(kConfigPollMs));
    poll_.async_wait([this](boost::system::error_code ec) {
      if (!ec) poll_config();
    });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::string config_path_;
  int mark_;
  std::optional<tcp::endpoint> upstream_;
  std::mt19937_64 rng_;
  asio::steady_timer poll_;
  std::tuple<ino_t, long, long, off_t> stamp_{};
  std::vector<Toxic> toxics_;
  std::list<std::weak_ptr<Connection>> connections_;
};

void Connection::start(const tcp::endpoint& destination, int mark) {
  boost::system::error_code ec;
  remote_.open(tcp::v4(), ec);
  if (ec) return close();
  if (mark != 0) ::setsockopt(remote_.native_handle(), SOL_SOCKET, SO_MARK, &mark, sizeof mark);
  remote_.set_option(tcp::no_delay(true), ec);
  local_.set_option(tcp::no_delay(true), ec);
  if (effects(kSend).reset) return reset();
  remote_.async_connect(destination, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return self->reset();  // the local server sees the refusal as a reset
    self->read(kSend);
    self->read(kReceive);
  });
}

Effects Connection::effects(Direction d) {
  Effects e;
  for (const Toxic& t : proxy_.toxics()) {
    if (t.peer != peer_) continue;
    auto [it, fresh] = rolls_.try_emplace(t.id, false);
    if (fresh) it->second = proxy_.roll(t.probability);
    if (!it->second) continue;
    if (t.kind == "reset-peer") e.reset = true;  // either direction: the connection goes
    if (t.direction != d) continue;
    if (t.kind == "latency") {
      e.latency_ms += t.a;
      e.jitter_ms += t.b;
    } else if (t.kind == "bandwidth" && t.a > 0) {
      double rate = t.a * 1024 / 1000;  // KB/s in bytes per ms
      e.rate_bytes_per_ms = e.rate_bytes_per_ms == 0 ? rate : std::min(e.rate_bytes_per_ms, rate);
    } else if (t.kind == "slow-close") {
      e.slow_close_ms = std::max(e.slow_close_ms, t.a);
    } else if (t.kind == "timeout") {
      e.blocked = true;
    }
  }
  return e;
}

void Connection::reconsider() {
  if (closed_) return;
  if (effects(kSend).reset) return reset();
  write(kSend);
  write(kReceive);
}

void Connection::read(Direction d) {
  Pump& p = pumps_[d];
  if (closed_ || p.reading || p.eof || p.queued_bytes >= kMaxQueuedBytes) return;
  p.reading = true;
  p.from.async_read_some(asio::buffer(p.buffer), [self = shared_from_this(), d](
                                                     boost::system::error_code ec, std::size_t n) {
    Pump& p = self->pumps_[d];
    p.reading = false;
    if (self->closed_) return;
    if (ec == asio::error::eof) {
      p.eof = true;
      return self->write(d);  // passes the EOF on once the queue has drained
    }
    if (ec) return self->close();
    Effects e = self->effects(d);
    if (e.reset) return self->reset();
    double delay_ms = std::max(0.0, e.latency_ms + self->proxy_.draw_jitter(e.jitter_ms));
    auto due = Clock::now() + std::chrono::microseconds(static_cast<long>(delay_ms * 1000));
    p.last_due = std::max(p.last_due, due);  // jitter never reorders bytes
    p.queue.push_back({std::vector<char>(p.buffer.begin(), p.buffer.begin() + n), p.last_due});
    p.queued_bytes += n;
    self->write(d);
    self->read(d);
  });
}

void Connection::write(Direction d) {
  Pump& p = pumps_[d];
  if (closed_ || p.writing || p.waiting) return;
  if (p.queue.empty()) {
    if (p.eof) finish(d);
    return;
  }
  Effects e = effects(d);
  if (e.reset) return reset();
  if (e.blocked) return;  // reconsider() resumes when the timeout is healed
  auto now = Clock::now();
  auto ready = std::max(p.queue.front().due, p.next_free);
  if (ready > now) {
    p.waiting = true;
    p.timer.expires_at(ready);
    p.timer.async_wait([self = shared_from_this(), d](boost::system::error_code) {
      self->pumps_[d].waiting = false;
      self->write(d);
    });
    return;
  }
  Chunk& chunk = p.queue.front();
  if (e.rate_bytes_per_ms > 0)
    p.next_free = now + std::chrono::microseconds(static_cast<long>(
                            static_cast<double>(chunk.bytes.size()) / e.rate_bytes_per_ms * 1000));
  p.writing = true;
  asio::async_write(p.to, asio::buffer(chunk.bytes),
                    [self = shared_from_this(), d](boost::system::error_code ec, std::size_t) {
                      Pump& p = self->pumps_[d];
                      p.writing = false;
                      if (ec) return self->close();
                      p.queued_bytes -= p.queue.front().bytes.size();
                      p.queue.pop_front();
                      self->read(d);
                      self->write(d);
                    });
}

// The source sent EOF and everything before it was delivered: pass the EOF on (after the
// slow-close delay); the connection closes once both directions are done.
void Connection::finish(Direction d) {
  Pump& p = pumps_[d];
  if (p.finished) return;
  double delay_ms = effects(d).slow_close_ms;
  auto shut = [self = shared_from_this(), d] {
    Pump& p = self->pumps_[d];
    if (p.finished || self->closed_) return;
    p.finished = true;
    boost::system::error_code ec;
    p.to.shutdown(tcp::socket::shutdown_send, ec);
    if (self->pumps_[1 - d].finished) self->close();
  };
  if (delay_ms <= 0) return shut();
  p.waiting = true;
  p.timer.expires_after(std::chrono::microseconds(static_cast<long>(delay_ms * 1000)));
  p.timer.async_wait([self = shared_from_this(), d, shut](boost::system::error_code) {
    self->pumps_[d].waiting = false;
    shut();
  });
}

void Connection::reset() {
  boost::system::error_code ec;
  for (tcp::socket* s : {&local_, &remote_})
    if (s->is_open()) s->set_option(asio::socket_base::linger(true, 0), ec);
  close();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  local_.close(ec);
  remote_.close(ec);
  for (Pump& p : pumps_) p.timer.cancel();
}

std::optional<tcp::endpoint> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  auto address = asio::ip::make_address_v4(text.substr(0, colon), ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, static_cast<unsigned short>(std::stoi(text.substr(colon + 1))));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faultline-proxy: the TCP proxy behind faultline's link faults"};
  int listen_port = 0;
  std::string config_path, upstream_text;
  int mark = 0;
  std::uint64_t seed = 1;
  app.add_option("--listen-port", listen_port, "port on 127.0.0.1 (0: any)");
  app.add_option("--config", config_path, "the toxics file, re-read when it changes")->required();
  app.add_option("--mark", mark, "SO_MARK of the proxy's own connections (the NAT chain skips it)");
  app.add_option("--upstream", upstream_text, "IP:PORT every connection goes to (no NAT)");
  app.add_option("--seed", seed, "seed of the probability and jitter draws");
  CLI11_PARSE(app, argc, argv);
  std::optional<tcp::endpoint> upstream;
  if (!upstream_text.empty() && !(upstream = parse_endpoint(upstream_text))) {
    std::fprintf(stderr, "faultline-proxy: --upstream %s: expected IPv4:PORT\n",
                 upstream_text.c_str());
    return 254;
  }
  try {
    asio::io_context io;
    Proxy proxy(io, listen_port, config_path, mark, upstream, seed);
    proxy.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faultline-proxy: %s\n", e.what());
    return 255;
  }
  return 0;
}
