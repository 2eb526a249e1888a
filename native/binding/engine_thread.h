// Work that runs on threads the addon owns, never on the libuv thread pool. A training held on a pool
// thread for minutes delays the host's own fs, dns, crypto and zlib work, and keeps a terminating
// worker_threads environment from ever running its cleanup hooks (Node first waits for pool work), so
// the cancel flag set there would never arrive. Here, teardown cancels every job and joins its thread.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace nasx::binding {

// A call to make on the JavaScript thread, given the job's message callback (a no-op when it has none).
using JsCall = std::function<void(Napi::Env, Napi::Function)>;
// Queues a call onto the JavaScript thread without blocking; dropped when the environment is going away.
using Post = std::function<void(JsCall)>;
// Builds a job's result on the JavaScript thread.
using ResultBuilder = std::function<Napi::Value(Napi::Env)>;
// A job: runs on the engine thread (it must not touch any JavaScript value) and returns its result's builder.
using EngineWork = std::function<ResultBuilder(const Post& post)>;

class EngineThreads {
 public:
  // Starts `work` on a thread of its own and returns a promise of its result. Whatever the work throws
  // rejects the promise as an Error with a `code` (see core_error). `cancel` is set at teardown.
  // Throws a JavaScript error, starting nothing, when the system refuses the thread.
  Napi::Promise start(Napi::Env env, const char* name, Napi::Function on_message, std::shared_ptr<std::atomic<bool>> cancel,
                      EngineWork work);

  // Sets every job's cancel flag and joins every thread (environment teardown).
  void shutdown();

 private:
  struct Entry {
    std::shared_ptr<std::atomic<bool>> cancel;
    std::shared_ptr<std::atomic<bool>> finished;
    std::thread thread;
  };
  void join_finished();

  std::mutex mu_;
  std::list<Entry> entries_;
};

// The addon's state for one Node environment (the main thread or a worker thread).
struct AddonState {
  EngineThreads threads;
  Napi::FunctionReference dataset_class;
};

AddonState& addon_state(Napi::Env env);

}  // namespace nasx::binding
