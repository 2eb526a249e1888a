#include "parallel.h"

#include <algorithm>
#include <exception>
#include <string>
#include <system_error>

#include "spec.h"

namespace nasx {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

namespace {

// Iterations a helper polls for new work before it sleeps (a few tens of microseconds: long enough to
// bridge the serial work between two GEMMs, short enough not to steal a busy machine's cores).
constexpr int kSpinIterations = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

std::thread start_thread(std::function<void()> fn, int index, int count) {
  try {
    return std::thread(std::move(fn));
  } catch (const std::system_error& e) {
    throw CoreError("threads", "could not start thread " + std::to_string(index + 1) + " of " + std::to_string(count) +
                                   " (" + e.what() + "); use fewer threads");
  }
}

void for_each_on_workers(int k, int threads, const std::atomic<bool>* cancel, const std::function<void(int, Team*)>& fn) {
  if (k <= 0) return;
  if (threads <= 0) threads = hardware_threads();
  const int workers = std::min(k, threads);
  auto team_size = [&](int w) { return k >= threads ? 1 : threads / k + (w < threads % k ? 1 : 0); };
  std::vector<std::unique_ptr<Team>> teams;
  for (int w = 0; w < workers; ++w) {
    teams.push_back(make_team(team_size(w)));
    teams.back()->set_cancel(cancel);
  }
  std::atomic<int> next{0};
  std::mutex go_mu;
  std::condition_variable go_cv;
  int go = 0;  // 0: wait, 1: run, -1: give up
  auto work = [&](int w) {
    {
      std::unique_lock<std::mutex> lock(go_mu);
      go_cv.wait(lock, [&] { return go != 0; });
      if (go < 0) return;
    }
    for (int i = next.fetch_add(1); i < k; i = next.fetch_add(1)) fn(i, teams[static_cast<size_t>(w)].get());
  };
  auto release = [&](int value) {
    {
      std::lock_guard<std::mutex> lock(go_mu);
      go = value;
    }
    go_cv.notify_all();
  };
  std::vector<std::thread> pool;
  try {
    for (int w = 1; w < workers; ++w) pool.push_back(start_thread([&work, w] { work(w); }, w, workers));
  } catch (...) {
    release(-1);
    for (auto& t : pool) t.join();
    throw;
  }
  release(1);
  work(0);
  for (auto& t : pool) t.join();
}

std::unique_ptr<Team> make_team(int size) {
  if (size <= 1) return std::make_unique<SerialTeam>();
  return std::make_unique<ThreadTeam>(size);
}

ThreadTeam::ThreadTeam(int size) : size_(size < 1 ? 1 : size) {
  helpers_.reserve(static_cast<size_t>(size_ - 1));
  try {
    for (int i = 1; i < size_; ++i) helpers_.push_back(start_thread([this, i] { helper_loop(i); }, i, size_));
  } catch (...) {
    // The destructor does not run for a half-built object: stop and join the helpers started so far.
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    work_cv_.notify_all();
    for (auto& t : helpers_) t.join();
    throw;
  }
}

ThreadTeam::~ThreadTeam() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  work_cv_.notify_all();
  for (auto& t : helpers_) t.join();
}

void ThreadTeam::run_chunks() {
  for (;;) {
    int i;
    const std::function<void(int)>* fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_ >= n_) return;
      i = next_++;
      fn = fn_;
    }
    try {
      check_cancel();
      (*fn)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    remaining_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadTeam::helper_loop(int) {
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations && !stop_.load(std::memory_order_relaxed); ++spin) {
      cpu_relax();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      g = generation_.load();
    }
    if (stop_.load()) return;
    seen = g;
    run_chunks();
  }
}

void ThreadTeam::parallel_for(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (size_ == 1 || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    error_ = nullptr;
    remaining_.store(n, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_cv_.notify_all();
  run_chunks();
  // Every chunk is claimed; wait (spinning, then yielding) until the helpers finish theirs.
  for (int spin = 0; remaining_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations) cpu_relax();
    else std::this_thread::yield();
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace nasx
