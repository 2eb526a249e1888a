#include "memory.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#endif
#if defined(_WIN32)
#include <windows.h>
#endif

namespace nasx {

namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();

std::int64_t physical_bytes() {
#if defined(_WIN32)
  MEMORYSTATUSEX s;
  s.dwLength = sizeof(s);
  if (GlobalMemoryStatusEx(&s)) return static_cast<std::int64_t>(s.ullTotalPhys);
  return std::int64_t{4} << 30;
#elif defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<std::int64_t>(pages) * page;
  return std::int64_t{4} << 30;
#else
  return std::int64_t{4} << 30;
#endif
}

// A number read from a cgroup file; "max" or anything unreadable is unlimited.
std::int64_t read_limit(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return kUnlimited;
  try {
    const long long v = std::stoll(word);
    // cgroup v1 reports "no limit" as a huge page-aligned number.
    return v > 0 && v < (std::int64_t{1} << 60) ? static_cast<std::int64_t>(v) : kUnlimited;
  } catch (...) {
    return kUnlimited;
  }
}

std::int64_t cgroup_limit() {
#if defined(__linux__)
  return std::min(read_limit("/sys/fs/cgroup/memory.max"), read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
#else
  return kUnlimited;
#endif
}

// The part of an address-space limit not yet used by the process.
std::int64_t address_space_left() {
#if defined(__linux__)
  rlimit r{};
  if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return kUnlimited;
  std::ifstream statm("/proc/self/statm");
  long long pages = 0;
  statm >> pages;
  const std::int64_t used = static_cast<std::int64_t>(pages) * sysconf(_SC_PAGESIZE);
  const std::int64_t limit = static_cast<std::int64_t>(r.rlim_cur);
  return std::max<std::int64_t>(0, limit - used);
#else
  return kUnlimited;
#endif
}

}  // namespace

std::int64_t available_memory_bytes() {
  return std::max<std::int64_t>(1, std::min({physical_bytes(), cgroup_limit(), address_space_left()}));
}

std::int64_t default_memory_budget() { return std::max<std::int64_t>(1, available_memory_bytes() / 2); }

std::string format_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[48];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

MemoryAccount& MemoryAccount::global() {
  static MemoryAccount account;
  return account;
}

bool MemoryAccount::acquire(std::int64_t bytes, std::int64_t limit, const std::atomic<bool>* cancel) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cancel != nullptr && cancel->load()) return false;
    const std::int64_t now = held_.load();
    if (now + bytes <= limit || now == 0) {
      held_.store(now + bytes);
      return true;
    }
    // Woken by a release; the timeout bounds how late a cancellation is seen.
    freed_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

void MemoryAccount::release(std::int64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.store(held_.load() - bytes);
  }
  freed_.notify_all();
}

}  // namespace nasx
