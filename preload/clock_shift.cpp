// libfaultline_clock.so: an LD_PRELOAD library that shifts a server's wall clock by the offset
// in a file, for the clock nemesis. The file (named by FAULTLINE_CLOCK_FILE) holds decimal
// seconds, "+1.5" or "-0.25" — the format libfaketime reads from FAKETIME_TIMESTAMP_FILE — and
// is re-read at most every 10 ms of real time, so the nemesis can change it while the server
// runs.
//
// Why not libfaketime: Debian's libfaketime 0.9.10 finds the real clock_gettime with dlsym(),
// which allocates; redis-server's jemalloc calls clock_gettime while initialising, so the
// first call recurses into libfaketime before it is ready and redis hangs at start
// ("Unexpected recursive calls to clock_gettime"). This library never calls dlsym, malloc or
// stdio: the real clocks come from the raw system calls, the file is read with open/read, and
// all state is a few atomics. Only the wall clock (CLOCK_REALTIME and its coarse variant,
// gettimeofday, time) is shifted: monotonic clocks are left alone, as NTP leaves them.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace {

constexpr long long kNs = 1000000000LL;
constexpr long long kRereadNs = 10000000LL;  // 10 ms

std::atomic<long long> g_offset_ns{0};
std::atomic<long long> g_last_read_ns{-1};  // real wall time of the last read; -1: never

long long to_ns(const timespec& t) { return t.tv_sec * kNs + t.tv_nsec; }

timespec from_ns(long long ns) {
  timespec t;
  t.tv_sec = ns / kNs;
  t.tv_nsec = ns % kNs;
  if (t.tv_nsec < 0) {
    t.tv_nsec += kNs;
    t.tv_sec -= 1;
  }
  return t;
}

// "+1.5", "-0.250000", "3": decimal seconds. False on anything else (the old offset stays).
bool parse_seconds(const char* text, long long* ns) {
  const char* p = text;
  while (*p == ' ' || *p == '\t') ++p;
  bool negative = false;
  if (*p == '+' || *p == '-') negative = *p++ == '-';
  if (*p < '0' || *p > '9') return false;
  long long whole = 0;
  while (*p >= '0' && *p <= '9') whole = whole * 10 + (*p++ - '0');
  long long fraction = 0, scale = kNs;
  if (*p == '.') {
    ++p;
    while (*p >= '0' && *p <= '9') {
      if (scale > 1) {
        scale /= 10;
        fraction += (*p - '0') * scale;
      }
      ++p;
    }
  }
  if (*p == 's') ++p;
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') ++p;
  if (*p != '\0') return false;
  *ns = (whole * kNs + fraction) * (negative ? -1 : 1);
  return true;
}

void reread(long long real_now_ns) {
  long long last = g_last_read_ns.load(std::memory_order_relaxed);
  if (last >= 0 && real_now_ns - last < kRereadNs && real_now_ns >= last) return;
  g_last_read_ns.store(real_now_ns, std::memory_order_relaxed);
  const char* path = getenv("FAULTLINE_CLOCK_FILE");
  if (!path) return;
  int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC));
  if (fd < 0) return;
  char buffer[64];
  long n = syscall(SYS_read, fd, buffer, sizeof buffer - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return;
  buffer[n] = '\0';
  long long ns;
  if (parse_seconds(buffer, &ns)) g_offset_ns.store(ns, std::memory_order_relaxed);
}

int real_clock_gettime(clockid_t clock, timespec* t) {
  return static_cast<int>(syscall(SYS_clock_gettime, clock, t));
}

// The shifted wall clock, in ns.
long long shifted_realtime_ns(clockid_t clock) {
  timespec t;
  real_clock_gettime(clock, &t);
  long long real = to_ns(t);
  reread(real);
  return real + g_offset_ns.load(std::memory_order_relaxed);
}

}  // namespace

// glibc declares these arguments nonnull, but an interposer sees every caller, careful or not.
#pragma GCC diagnostic ignored "-Wnonnull-compare"

extern "C" {

__attribute__((visibility("default"))) int clock_gettime(clockid_t clock, timespec* t) {
  if (clock != CLOCK_REALTIME && clock != CLOCK_REALTIME_COARSE) return real_clock_gettime(clock, t);
  if (!t) return real_clock_gettime(clock, t);  // let the kernel report EFAULT
  *t = from_ns(shifted_realtime_ns(clock));
  return 0;
}

__attribute__((visibility("default"))) int gettimeofday(timeval* tv, void* tz) {
  if (tz) syscall(SYS_gettimeofday, nullptr, tz);
  if (!tv) return 0;
  timespec t = from_ns(shifted_realtime_ns(CLOCK_REALTIME));
  tv->tv_sec = t.tv_sec;
  tv->tv_usec = t.tv_nsec / 1000;
  return 0;
}

__attribute__((visibility("default"))) time_t time(time_t* out) {
  time_t seconds = static_cast<time_t>(from_ns(shifted_realtime_ns(CLOCK_REALTIME)).tv_sec);
  if (out) *out = seconds;
  return seconds;
}

}  // extern "C"
