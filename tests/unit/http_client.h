// A minimal HTTP/1.1 client over POSIX sockets for the serve tests: each call is one connection,
// so a test can hold some open (silent, or not reading) while others make requests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace faultline::testing {

// A connected socket to 127.0.0.1:port whose receives give up after `recv_timeout_ms`; -1 if
// the connection failed.
inline int http_connect(int port, int recv_timeout_ms = 10000) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline void http_send_get(int fd, const std::string& target) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
}

// Everything the server sends until it closes (or the receive timeout passes).
inline std::string http_read_all(int fd) {
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    response.append(buffer, static_cast<std::size_t>(n));
  return response;
}

// One whole request: "" when the connection failed.
inline std::string http_get(int port, const std::string& target) {
  int fd = http_connect(port);
  if (fd < 0) return "";
  http_send_get(fd, target);
  std::string response = http_read_all(fd);
  ::close(fd);
  return response;
}

}  // namespace faultline::testing
