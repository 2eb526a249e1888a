// Argument conversion at the addon boundary: JS values → core's plain structs. Every check throws a
// Napi TypeError/RangeError whose message names the argument, the rule and the value received. The
// TypeScript layer validates first; these checks are the second line of defence.
#pragma once

#include <napi.h>

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../core/optimizer.h"
#include "../core/spec.h"
#include "../core/trainer.h"

namespace nasx::binding {

std::string describe(const Napi::Value& v);
[[noreturn]] void throw_type(Napi::Env env, const std::string& name, const std::string& expected, const Napi::Value& v);
[[noreturn]] void throw_range(Napi::Env env, const std::string& name, const std::string& expected, const Napi::Value& v);

Napi::Object get_object(const Napi::Value& v, const std::string& name);
int get_int(const Napi::Object& o, const char* key, const std::string& ctx, int min, int max, int fallback, bool required = false);
// A number in [min, max] (or (min, max] when exclusive_min), the fallback when undefined.
double get_number(const Napi::Object& o, const char* key, const std::string& ctx, double min, double max, double fallback,
                  bool exclusive_min = false);
bool get_bool(const Napi::Object& o, const char* key, const std::string& ctx, bool fallback);

Shape get_shape(const Napi::Value& v, const std::string& name);
std::vector<NodeSpec> get_nodes(const Napi::Value& v, const std::string& name);

// Data splits keep pointers into the typed arrays; the caller must keep the arrays alive.
TrainData get_train_data(const Napi::Value& v, const std::string& name);
TrainOptions get_train_options(const Napi::Value& v, const std::string& name);
OptimizerConfig get_optimizer(const Napi::Object& o, const std::string& ctx);

// A training state from JS ({ epochsDone, steps, rng: Uint32Array(4), params, state, m, v }), copied.
std::shared_ptr<const TrainingState> get_training_state(const Napi::Value& v, const std::string& name);
Napi::Object training_state_to_js(Napi::Env env, const TrainingState& st);

// A parent network's weights ({ nodes, inputShape, outputSize, params: tensors, state: tensors }), copied and planned.
std::shared_ptr<const ParentWeights> get_parent_weights(const Napi::Value& v, const std::string& name);
// { functionPreserving, reason?, params: [{ tensor, from, how }], state: [...] }
Napi::Object inherit_report_to_js(Napi::Env env, const InheritReport& r);

// A Float32Array view; throws if v is not one, or (when expected >= 0) has the wrong length.
Napi::Float32Array get_f32(const Napi::Value& v, const std::string& name, std::int64_t expected = -1);

// Throws a JS Error with a `code` property (mapped to NasxError by the TypeScript layer).
[[noreturn]] void throw_core(Napi::Env env, const CoreError& e);
Napi::Error core_error(Napi::Env env, const std::string& code, const std::string& message);

// Runs an entry point's body so that no C++ exception reaches node-addon-api (which only converts
// Napi::Error, and lets anything else terminate the process): CoreError becomes an Error with its
// code, std::bad_alloc ERR_NASX_OUT_OF_MEMORY, any other exception ERR_NASX_ENGINE.
template <typename Body>
auto guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const CoreError& e) {
    throw core_error(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw core_error(env, "out_of_memory", "out of memory");
  } catch (const std::exception& e) {
    throw core_error(env, "engine", e.what());
  }
}

// An exported function whose body runs guarded.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value guarded_entry(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Fn(info); });
}

}  // namespace nasx::binding
