#include "engine_thread.h"

#include <new>
#include <string>
#include <utility>

#include "../core/parallel.h"
#include "../core/spec.h"
#include "convert.h"

namespace nasx::binding {

namespace {

void call_js(Napi::Env env, Napi::Function fn, std::nullptr_t*, JsCall* call) {
  std::unique_ptr<JsCall> owned(call);
  if (env == nullptr || !owned || !*owned) return;  // the environment is going away
  try {
    (*owned)(env, fn);
  } catch (...) {
    // A progress callback that throws, or a settlement refused by a terminating environment: nothing
    // raised on the JavaScript thread from here may end the process.
  }
}

using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, JsCall, call_js>;

JsCall rejection(std::shared_ptr<Napi::Promise::Deferred> deferred, std::string code, std::string message) {
  return [deferred, code = std::move(code), message = std::move(message)](Napi::Env env, Napi::Function) {
    deferred->Reject(core_error(env, code, message).Value());
  };
}

}  // namespace

Napi::Promise EngineThreads::start(Napi::Env env, const char* name, Napi::Function on_message,
                                   std::shared_ptr<std::atomic<bool>> cancel, EngineWork work) {
  join_finished();
  auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  Napi::Function fn = on_message.IsEmpty() ? Napi::Function::New(env, [](const Napi::CallbackInfo&) {}) : on_message;
  Tsfn tsfn = Tsfn::New(env, fn, name, 0, 1);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto body = [tsfn, work = std::move(work), deferred, finished]() mutable {
    const Post post = [tsfn](JsCall call) {
      auto* m = new JsCall(std::move(call));
      if (tsfn.NonBlockingCall(m) != napi_ok) delete m;
    };
    JsCall settle;
    try {
      ResultBuilder build = work(post);
      settle = [deferred, build = std::move(build)](Napi::Env env, Napi::Function) {
        Napi::Value value;
        try {
          value = build(env);
        } catch (const Napi::Error& e) {
          deferred->Reject(e.Value());
          return;
        }
        deferred->Resolve(value);
      };
    } catch (const CoreError& e) {
      settle = rejection(deferred, e.code(), e.what());
    } catch (const std::bad_alloc&) {
      settle = rejection(deferred, "out_of_memory", "out of memory");
    } catch (const std::exception& e) {
      settle = rejection(deferred, "engine", e.what());
    } catch (...) {
      settle = rejection(deferred, "engine", "unknown error");
    }
    // The queue is unbounded, so this never waits; after teardown it is refused and dropped here.
    auto* m = new JsCall(std::move(settle));
    if (tsfn.BlockingCall(m) != napi_ok) delete m;
    tsfn.Release();
    finished->store(true);
  };
  std::thread thread;
  try {
    thread = start_thread(std::move(body), 0, 1);
  } catch (const CoreError& e) {
    tsfn.Release();
    throw core_error(env, e.code(), e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(Entry{std::move(cancel), std::move(finished), std::move(thread)});
  return deferred->Promise();
}

void EngineThreads::join_finished() {
  std::list<Entry> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->finished->load()) done.splice(done.end(), entries_, it++);
      else ++it;
    }
  }
  for (Entry& e : done) e.thread.join();
}

void EngineThreads::shutdown() {
  std::list<Entry> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(entries_);
  }
  for (Entry& e : all) e.cancel->store(true);
  for (Entry& e : all) e.thread.join();
}

AddonState& addon_state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

}  // namespace nasx::binding
