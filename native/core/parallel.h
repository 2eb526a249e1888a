// Thread teams: the one parallelism primitive used by kernels and the trainer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nasx {

// Thrown by parallel loops (and by explicit checks between layers and batches) once the cancel flag
// of the team's job is set, so that a long step stops within one chunk of work.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "cancelled"; }
};

// A group of threads that can run a parallel loop. Kernels receive a Team* and split their work
// into a fixed number of chunks that depends only on the problem (never on timing), so results
// are deterministic for a given team size.
class Team {
 public:
  virtual ~Team() = default;
  virtual int size() const = 0;
  // Runs fn(i) for every i in [0, n), spread over the team's threads; returns when all are done.
  // Exceptions thrown by fn are captured and the first one is rethrown on the calling thread.
  // Once the cancel flag is set, chunks not yet started are skipped and Cancelled is thrown.
  virtual void parallel_for(int n, const std::function<void(int)>& fn) = 0;

  // The flag (owned by the caller, outliving the team's use) that cancels the team's loops.
  void set_cancel(const std::atomic<bool>* flag) { cancel_ = flag; }
  bool cancelled() const { return cancel_ != nullptr && cancel_->load(std::memory_order_relaxed); }
  void check_cancel() const {
    if (cancelled()) throw Cancelled();
  }

 protected:
  const std::atomic<bool>* cancel_ = nullptr;
};

// A team of one: runs everything inline on the calling thread.
class SerialTeam final : public Team {
 public:
  int size() const override { return 1; }
  void parallel_for(int n, const std::function<void(int)>& fn) override {
    for (int i = 0; i < n; ++i) {
      check_cancel();
      fn(i);
    }
  }
};

// A team of `size` threads: the calling thread plus size-1 helpers. Between loops a helper spins
// briefly before sleeping on a condition variable, because training issues many short loops (one per
// GEMM) with a little serial work in between, and a futex wake-up costs as much as a small GEMM.
class ThreadTeam final : public Team {
 public:
  // Throws CoreError("threads", ...) when the system refuses a thread (after stopping the ones started).
  explicit ThreadTeam(int size);
  ~ThreadTeam() override;
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const override { return size_; }
  void parallel_for(int n, const std::function<void(int)>& fn) override;

 private:
  void helper_loop(int index);
  void run_chunks();

  int size_;
  std::vector<std::thread> helpers_;
  std::mutex mu_;  // guards fn_, n_, next_, error_ and sleeping
  std::condition_variable work_cv_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0;
  int next_ = 0;
  std::atomic<int> remaining_{0};  // chunks of the current loop not yet finished
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

// Number of hardware threads, at least 1.
int hardware_threads();

// A team of `size` threads (a SerialTeam for 1). Throws CoreError("threads", ...) as ThreadTeam does.
std::unique_ptr<Team> make_team(int size);

// Runs fn(i, team) for i in [0, k) on a pool of min(k, threads) workers (threads 0: every hardware
// thread), each with its own team: with fewer items than threads, each item's kernels get a team of
// several threads. Items are taken in order as workers free up. Every thread is started before any
// work, so a system refusing threads throws CoreError("threads", ...) with nothing run. Teams check
// `cancel`. fn must not throw.
void for_each_on_workers(int k, int threads, const std::atomic<bool>* cancel, const std::function<void(int, Team*)>& fn);

// Starts a thread running fn; a refusal by the system becomes CoreError("threads", ...) whose message
// says which thread of how many could not be started and why.
std::thread start_thread(std::function<void()> fn, int index, int count);

}  // namespace nasx
