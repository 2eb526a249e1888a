// Memory budgeting: how much the machine (or the process's cgroup and address-space limits) allows,
// and one process-wide account of the bytes the engine's running work holds, so that candidates are
// admitted only while their estimated peak fits, instead of allocating until the kernel's OOM killer
// or std::bad_alloc ends the host process.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace nasx {

// Bytes this process can use: physical memory, lowered by a cgroup memory limit and by the free part of
// an address-space limit (RLIMIT_AS) when those are set.
std::int64_t available_memory_bytes();

// The default memory budget: half of available_memory_bytes().
std::int64_t default_memory_budget();

// "1.5 GiB", "512 MiB", "800 B": for error messages.
std::string format_bytes(std::int64_t bytes);

// The engine's running work, process-wide (every job, every Node environment).
class MemoryAccount {
 public:
  static MemoryAccount& global();

  // Waits until held + bytes <= limit, then holds `bytes`. Returns false, holding nothing, if *cancel
  // becomes true first. A request above `limit` is the caller's to refuse before asking.
  bool acquire(std::int64_t bytes, std::int64_t limit, const std::atomic<bool>* cancel);
  void release(std::int64_t bytes);
  std::int64_t held() const { return held_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable freed_;
  std::atomic<std::int64_t> held_{0};
};

// Bytes held in the global account for the lifetime of this object.
class MemoryReservation {
 public:
  MemoryReservation() = default;
  explicit MemoryReservation(std::int64_t bytes) : bytes_(bytes) {}
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  ~MemoryReservation() {
    if (bytes_ > 0) MemoryAccount::global().release(bytes_);
  }

 private:
  std::int64_t bytes_ = 0;
};

}  // namespace nasx
