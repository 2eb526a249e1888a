// mctsRollouts(structure, surrogate, prefixes, options) -> Promise<PrefixStats[]>, on an engine thread;
// mctsRolloutsSync(...) -> PrefixStats[], the same work on the calling thread, for callers that must
// answer synchronously (Strategy.ask). Arguments are converted to core's plain structs and checked
// before any work starts, so bad input throws synchronously in both; core errors carry a `code`.
#include "mcts_binding.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/mcts.h"
#include "../core/parallel.h"
#include "convert.h"
#include "engine_thread.h"

namespace nasx::binding {
namespace {

// Everything one call needs, copied out of the JS values (no pointers into JS memory), so the
// work can run on another thread while JavaScript goes on.
struct RolloutJob {
  mcts::DecisionStructure structure;
  mcts::Surrogate surrogate;
  std::vector<std::vector<int>> prefixes;
  mcts::RolloutOptions options;
  int threads = 1;
};

std::vector<int> get_i32(const Napi::Object& o, const char* key, const std::string& ctx) {
  const Napi::Value v = o.Get(key);
  const std::string name = ctx + "." + key;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) throw_type(o.Env(), name, "an Int32Array", v);
  const Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<std::uint8_t> get_u8(const Napi::Object& o, const char* key, const std::string& ctx) {
  const Napi::Value v = o.Get(key);
  const std::string name = ctx + "." + key;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw_type(o.Env(), name, "a Uint8Array", v);
  const Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return std::vector<std::uint8_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<double> get_f64(const Napi::Object& o, const char* key, const std::string& ctx, bool required) {
  const Napi::Value v = o.Get(key);
  const std::string name = ctx + "." + key;
  if (v.IsUndefined() && !required) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) throw_type(o.Env(), name, "a Float64Array", v);
  const Napi::Float64Array a = v.As<Napi::Float64Array>();
  return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<int> get_prefix(const Napi::Value& v, const std::string& name) {
  const std::string expected = "an Int32Array or an array of option indices";
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    const Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<int>(a.Data(), a.Data() + a.ElementLength());
  }
  if (!v.IsArray()) throw_type(v.Env(), name, expected, v);
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  out.reserve(a.Length());
  for (uint32_t j = 0; j < a.Length(); ++j) {
    const Napi::Value x = a.Get(j);
    const std::string item = name + "[" + std::to_string(j) + "]";
    if (!x.IsNumber()) throw_type(v.Env(), item, "an integer", x);
    const double d = x.As<Napi::Number>().DoubleValue();
    // The option's upper bound depends on the slot; core checks it against the structure.
    if (std::floor(d) != d || d < -2147483648.0 || d > 2147483647.0) throw_range(v.Env(), item, "an integer", x);
    out.push_back(static_cast<int>(d));
  }
  return out;
}

std::unique_ptr<RolloutJob> job_from(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<RolloutJob>();
  const Napi::Object st = get_object(info[0], "structure");
  job->structure.slot_options = get_i32(st, "slotOptions", "structure");
  job->structure.slot_gate = get_i32(st, "slotGate", "structure");
  job->structure.gate_parent = get_i32(st, "gateParent", "structure");
  job->structure.gate_slot = get_i32(st, "gateSlot", "structure");
  job->structure.gate_allowed = get_u8(st, "gateAllowed", "structure");

  const Napi::Object sg = get_object(info[1], "surrogate");
  const Napi::Value bias = sg.Get("bias");
  if (!bias.IsNumber()) throw_type(env, "surrogate.bias", "a finite number", bias);
  job->surrogate.bias = bias.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(job->surrogate.bias)) throw_range(env, "surrogate.bias", "a finite number", bias);
  job->surrogate.linear = get_f64(sg, "linear", "surrogate", true);
  job->surrogate.pairwise = get_f64(sg, "pairwise", "surrogate", false);

  if (!info[2].IsArray()) throw_type(env, "prefixes", "an array of decision prefixes", info[2]);
  const Napi::Array prefixes = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < prefixes.Length(); ++i) job->prefixes.push_back(get_prefix(prefixes.Get(i), "prefixes[" + std::to_string(i) + "]"));

  if (!info[3].IsUndefined()) {
    const Napi::Object o = get_object(info[3], "options");
    job->options.rollouts = get_int(o, "rollouts", "options", 1, static_cast<int>(mcts::kMaxRollouts), 4096);
    job->options.top_k = get_int(o, "topK", "options", 0, mcts::kMaxTopK, 8);
    job->threads = get_int(o, "threads", "options", 0, 1024, 1);
    const Napi::Value seed = o.Get("seed");
    if (!seed.IsUndefined()) {
      const std::string expected = "an integer between 0 and 9007199254740991";
      if (!seed.IsNumber()) throw_type(env, "options.seed", expected, seed);
      const double d = seed.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) throw_range(env, "options.seed", expected, seed);
      job->options.seed = static_cast<std::uint64_t>(d);
    }
  }
  if (job->threads == 0) job->threads = hardware_threads();

  mcts::check_structure(job->structure);
  mcts::check_surrogate(job->structure, job->surrogate);
  for (size_t i = 0; i < job->prefixes.size(); ++i) mcts::check_prefix(job->structure, job->prefixes[i], "prefixes[" + std::to_string(i) + "]");
  return job;
}

std::vector<mcts::PrefixStats> run(const RolloutJob& job, const std::atomic<bool>* cancel) {
  std::unique_ptr<Team> team = make_team(job.threads);
  team->set_cancel(cancel);
  return mcts::run_rollouts(job.structure, job.surrogate, job.prefixes, job.options, *team);
}

Napi::Array to_js(Napi::Env env, const std::vector<mcts::PrefixStats>& results) {
  Napi::Array out = Napi::Array::New(env, results.size());
  for (size_t p = 0; p < results.size(); ++p) {
    const mcts::PrefixStats& r = results[p];
    Napi::Object o = Napi::Object::New(env);
    o.Set("options", r.options);
    o.Set("rollouts", Napi::Number::New(env, static_cast<double>(r.rollouts)));
    const size_t k = r.visits.size();
    Napi::Int32Array visits = Napi::Int32Array::New(env, k);
    Napi::Float64Array mean = Napi::Float64Array::New(env, k);
    Napi::Float64Array max = Napi::Float64Array::New(env, k);
    for (size_t j = 0; j < k; ++j) {
      visits[j] = static_cast<std::int32_t>(r.visits[j]);
      mean[j] = r.mean[j];
      max[j] = r.max[j];
    }
    o.Set("visits", visits);
    o.Set("mean", mean);
    o.Set("max", max);
    Napi::Array best = Napi::Array::New(env, r.best.size());
    for (size_t i = 0; i < r.best.size(); ++i) {
      Napi::Object b = Napi::Object::New(env);
      Napi::Array decisions = Napi::Array::New(env, r.best[i].decisions.size());
      for (size_t j = 0; j < r.best[i].decisions.size(); ++j) decisions.Set(static_cast<uint32_t>(j), r.best[i].decisions[j]);
      b.Set("decisions", decisions);
      b.Set("value", r.best[i].value);
      best.Set(static_cast<uint32_t>(i), b);
    }
    o.Set("best", best);
    out.Set(static_cast<uint32_t>(p), o);
  }
  return out;
}

Napi::Value MctsRollouts(const Napi::CallbackInfo& info) {
  // Throws on bad arguments, before anything starts.
  std::shared_ptr<const RolloutJob> job = job_from(info);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  return addon_state(info.Env()).threads.start(info.Env(), "nasx.mctsRollouts", Napi::Function(), cancel,
                                               [job, cancel](const Post&) -> ResultBuilder {
                                                 auto results = std::make_shared<std::vector<mcts::PrefixStats>>(run(*job, cancel.get()));
                                                 return [results](Napi::Env env) -> Napi::Value { return to_js(env, *results); };
                                               });
}

Napi::Value MctsRolloutsSync(const Napi::CallbackInfo& info) {
  const std::unique_ptr<RolloutJob> job = job_from(info);
  return to_js(info.Env(), run(*job, nullptr));
}

}  // namespace

void register_mcts(Napi::Env env, Napi::Object exports) {
  exports.Set("mctsRollouts", Napi::Function::New(env, guarded_entry<MctsRollouts>, "mctsRollouts"));
  exports.Set("mctsRolloutsSync", Napi::Function::New(env, guarded_entry<MctsRolloutsSync>, "mctsRolloutsSync"));
}

}  // namespace nasx::binding
