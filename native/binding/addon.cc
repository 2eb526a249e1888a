// The nasx addon: argument conversion, training jobs on engine-owned threads with progress and
// cancellation, data sets copied into engine memory, and a small synchronous network handle for
// inspection and gradient tests. Every entry point runs guarded (convert.h): no C++ exception reaches
// Node, whatever the input.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "../core/data_store.h"
#include "../core/inherit.h"
#include "../core/rng.h"
#include "../core/devices.h"
#include "../core/loss.h"
#include "../core/memory.h"
#include "../core/network.h"
#include "../core/optimizer.h"
#include "../core/parallel.h"
#include "../core/plan.h"
#include "../core/proxies.h"
#include "../core/trainer.h"
#include "../cpu/kernels.h"
#include "convert.h"
#include "engine_thread.h"
#include "mcts_binding.h"

namespace nasx::binding {
namespace {

double js_number(double v) { return v; }

Napi::Value nan_or(Napi::Env env, double v) { return Napi::Number::New(env, js_number(v)); }

Napi::Array shape_array(Napi::Env env, const std::vector<int>& dims) {
  Napi::Array a = Napi::Array::New(env, dims.size());
  for (size_t i = 0; i < dims.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, dims[i]));
  return a;
}

Napi::Array shape_array(Napi::Env env, Shape s) { return shape_array(env, std::vector<int>{s.h, s.w, s.c}); }

Napi::Array tensors_to_js(Napi::Env env, const std::vector<TensorInfo>& tensors, const std::vector<float>& values) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& t = tensors[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.name);
    o.Set("shape", shape_array(env, t.shape));
    Napi::Float32Array data = Napi::Float32Array::New(env, static_cast<size_t>(t.size));
    std::copy_n(values.data() + t.offset, t.size, data.Data());
    o.Set("data", data);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

// { gradNorm, snip, fisher, synflow, jacov, naswot } (NaN where not finite).
Napi::Object proxy_scores_to_js(Napi::Env env, const ProxyScores& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gradNorm", p.grad_norm);
  o.Set("snip", p.snip);
  o.Set("fisher", p.fisher);
  o.Set("synflow", p.synflow);
  o.Set("jacov", p.jacov);
  o.Set("naswot", p.naswot);
  return o;
}

Napi::Object result_to_js(Napi::Env env, const CandidateResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("status", status_name(r.status));
  if (!r.error.empty()) o.Set("error", r.error);
  o.Set("params", Napi::Number::New(env, static_cast<double>(r.params)));
  o.Set("flops", Napi::Number::New(env, static_cast<double>(r.flops)));
  o.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(r.memory_bytes)));
  o.Set("inputShape", shape_array(env, r.input));
  Napi::Object m = Napi::Object::New(env);
  m.Set("trainLoss", nan_or(env, r.train_loss));
  m.Set("valLoss", nan_or(env, r.val_loss));
  m.Set("valAccuracy", nan_or(env, r.val_accuracy));
  m.Set("testLoss", nan_or(env, r.test_loss));
  m.Set("testAccuracy", nan_or(env, r.test_accuracy));
  o.Set("metrics", m);
  o.Set("seconds", r.seconds);
  o.Set("startedAt", r.started);
  o.Set("samplesPerSecond", r.samples_per_second);
  o.Set("samplesSeen", Napi::Number::New(env, static_cast<double>(r.samples_seen)));
  Napi::Array epochs = Napi::Array::New(env, r.epochs.size());
  for (size_t i = 0; i < r.epochs.size(); ++i) {
    const EpochRecord& e = r.epochs[i];
    Napi::Object eo = Napi::Object::New(env);
    eo.Set("epoch", e.epoch);
    eo.Set("trainLoss", e.train_loss);
    eo.Set("valLoss", nan_or(env, e.val_loss));
    eo.Set("valAccuracy", nan_or(env, e.val_accuracy));
    eo.Set("seconds", e.seconds);
    epochs.Set(static_cast<uint32_t>(i), eo);
  }
  o.Set("epochs", epochs);
  if (r.training_state) o.Set("trainingState", training_state_to_js(env, *r.training_state));
  if (r.inheritance) o.Set("inheritance", inherit_report_to_js(env, *r.inheritance));
  if (!r.tensors.empty() || !r.weights.empty()) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("params", tensors_to_js(env, r.tensors, r.weights));
    w.Set("state", tensors_to_js(env, r.state_tensors, r.state));
    o.Set("weights", w);
  }
  return o;
}

Napi::Object event_to_js(Napi::Env env, const ProgressEvent& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", e.kind == ProgressEvent::Kind::Epoch ? "epoch" : "step");
  o.Set("candidate", e.candidate);
  o.Set("epoch", e.epoch);
  o.Set("epochs", e.epochs);
  o.Set("step", Napi::Number::New(env, static_cast<double>(e.step)));
  o.Set("steps", Napi::Number::New(env, static_cast<double>(e.steps)));
  o.Set("trainLoss", e.train_loss);
  if (e.kind == ProgressEvent::Kind::Epoch) {
    o.Set("valLoss", nan_or(env, e.val_loss));
    o.Set("valAccuracy", nan_or(env, e.val_accuracy));
  }
  o.Set("seconds", e.seconds);
  return o;
}

// A data set copied into engine memory: new Dataset(data) -> { bytes }. Jobs share the copy, so the
// caller's typed arrays may be changed, detached or transferred once it exists.
class DatasetHandle final : public Napi::ObjectWrap<DatasetHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Dataset", {InstanceAccessor<&DatasetHandle::Bytes>("bytes")});
  }

  explicit DatasetHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatasetHandle>(info) {
    guarded(info.Env(), [&] {
      store_ = copy_data(info[0], "data");
      Napi::MemoryManagement::AdjustExternalMemory(info.Env(), store_->bytes());
    });
  }
  ~DatasetHandle() override {
    if (store_) Napi::MemoryManagement::AdjustExternalMemory(Env(), -store_->bytes());
  }

  // Validates a plain data object and copies its splits.
  static std::shared_ptr<const DataStore> copy_data(const Napi::Value& v, const std::string& name) {
    const TrainData view = get_train_data(v, name);
    check_train_inputs(view, TrainOptions{});
    return DataStore::copy(view);
  }

  // The store behind `v`: a Dataset handle's, or a fresh copy of a plain data object.
  static std::shared_ptr<const DataStore> from(const Napi::Value& v, const std::string& name) {
    if (v.IsObject() && v.As<Napi::Object>().InstanceOf(addon_state(v.Env()).dataset_class.Value()))
      return Unwrap(v.As<Napi::Object>())->store_;
    return copy_data(v, name);
  }

 private:
  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(store_->bytes())); }
  std::shared_ptr<const DataStore> store_;
};

// train(candidates: { nodes, optimizer? }[], data: Dataset | data object, options, onProgress: Function)
//   -> { promise, cancel() }
Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto archs = std::make_shared<std::vector<Candidate>>();
  if (!info[0].IsArray()) throw_type(env, "archs", "an array of architectures", info[0]);
  Napi::Array list = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string name = "archs[" + std::to_string(i) + "]";
    Napi::Object entry = get_object(list.Get(i), name);
    Candidate c;
    c.nodes = get_nodes(entry.Get("nodes"), name + ".nodes");
    Napi::Value opt = entry.Get("optimizer");
    if (!opt.IsUndefined()) {
      c.own_optimizer = true;
      c.optimizer = get_optimizer(get_object(opt, name + ".optimizer"), name + ".optimizer");
    }
    Napi::Value resume = entry.Get("resume");
    if (!resume.IsUndefined() && !resume.IsNull()) c.resume = get_training_state(resume, name + ".resume");
    Napi::Value parent = entry.Get("parent");
    if (!parent.IsUndefined() && !parent.IsNull()) {
      if (c.resume) throw_type(env, name + ".parent", "undefined when resume is given (a resumed candidate has its own weights)", parent);
      c.parent = get_parent_weights(parent, name + ".parent");
    }
    archs->push_back(std::move(c));
  }
  auto options = std::make_shared<TrainOptions>(get_train_options(info[2], "options"));
  if (!info[3].IsFunction()) throw_type(env, "onProgress", "a function", info[3]);
  // The engine reads only its own copy of the data, never the caller's arrays.
  std::shared_ptr<const DataStore> store = DatasetHandle::from(info[1], "data");
  check_train_inputs(store->data(), *options);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  Napi::Promise promise = addon_state(env).threads.start(
      env, "nasx.train", info[3].As<Napi::Function>(), cancel, [archs, options, store, cancel](const Post& post) -> ResultBuilder {
        auto progress = [&post](const ProgressEvent& e) {
          post([e](Napi::Env env, Napi::Function fn) { fn.Call({event_to_js(env, e)}); });
        };
        // On cancellation the results still arrive, unfinished candidates marked "cancelled".
        auto results = std::make_shared<std::vector<CandidateResult>>(
            train_candidates(*archs, store->data(), *options, cancel.get(), progress));
        return [results](Napi::Env env) -> Napi::Value {
          Napi::Array out = Napi::Array::New(env, results->size());
          for (size_t i = 0; i < results->size(); ++i) out.Set(static_cast<uint32_t>(i), result_to_js(env, (*results)[i]));
          return out;
        };
      });
  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", promise);
  handle.Set("cancel", Napi::Function::New(env, [cancel](const Napi::CallbackInfo&) { cancel->store(true); }, "cancel"));
  return handle;
}

// scoreProxies(candidates: { nodes }[], data: Dataset | data object, options) -> Promise<results>, on an
// engine thread: the zero-cost proxies of each candidate at initialisation (core/proxies.h).
Napi::Value ScoreProxies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw_type(env, "archs", "an array of architectures", info[0]);
  Napi::Array list = info[0].As<Napi::Array>();
  auto archs = std::make_shared<std::vector<Candidate>>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string name = "archs[" + std::to_string(i) + "]";
    Candidate c;
    c.nodes = get_nodes(get_object(list.Get(i), name).Get("nodes"), name + ".nodes");
    archs->push_back(std::move(c));
  }
  auto options = std::make_shared<ProxyOptions>();
  if (!info[2].IsUndefined()) {
    Napi::Object o = get_object(info[2], "options");
    options->batch_size = get_int(o, "batchSize", "options", 1, 256, 64);
    options->seed = static_cast<std::uint64_t>(get_number(o, "seed", "options", 0, 9007199254740991.0, 0));
    options->threads = get_int(o, "threads", "options", 0, 1024, 0);
    options->max_memory = static_cast<std::int64_t>(get_number(o, "maxMemory", "options", 1 << 20, 9007199254740991.0, 0));
  }
  std::shared_ptr<const DataStore> store = DatasetHandle::from(info[1], "data");
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  return addon_state(env).threads.start(env, "nasx.scoreProxies", Napi::Function(), cancel,
                                        [archs, options, store, cancel](const Post&) -> ResultBuilder {
    auto results = std::make_shared<std::vector<ProxyResult>>(score_proxies(*archs, store->data(), *options, cancel.get()));
    return [results](Napi::Env env) -> Napi::Value {
      Napi::Array out = Napi::Array::New(env, results->size());
      for (size_t i = 0; i < results->size(); ++i) {
        const ProxyResult& r = (*results)[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("status", status_name(r.status));
        if (!r.error.empty()) o.Set("error", r.error);
        o.Set("params", Napi::Number::New(env, static_cast<double>(r.params)));
        o.Set("flops", Napi::Number::New(env, static_cast<double>(r.flops)));
        o.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(r.memory_bytes)));
        o.Set("scores", proxy_scores_to_js(env, r.scores));
        o.Set("seconds", r.seconds);
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    };
  });
}

// plan(nodes, inputShape, outputSize) -> { params, flops, nodes: [{ name, op, inputs, outputShape }] }
Napi::Value PlanNetwork(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<NodeSpec> nodes = get_nodes(info[0], "nodes");
  Shape input = get_shape(info[1], "inputShape");
  if (!info[2].IsNumber()) throw_type(env, "outputSize", "a positive integer", info[2]);
  const int outputs = info[2].As<Napi::Number>().Int32Value();
  const Plan plan = build_plan(nodes, input, outputs);
  Napi::Object o = Napi::Object::New(env);
  o.Set("params", Napi::Number::New(env, static_cast<double>(plan.param_count)));
  o.Set("flops", Napi::Number::New(env, static_cast<double>(plan.flops)));
  Napi::Array list = Napi::Array::New(env, plan.nodes.size());
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlannedNode& n = plan.nodes[i];
    Napi::Object no = Napi::Object::New(env);
    no.Set("name", n.spec.name);
    no.Set("op", op_name(n.spec.op));
    no.Set("inputs", shape_array(env, n.spec.inputs));
    no.Set("outputShape", shape_array(env, n.out));
    no.Set("flops", Napi::Number::New(env, static_cast<double>(n.flops)));
    list.Set(static_cast<uint32_t>(i), no);
  }
  o.Set("nodes", list);
  Napi::Array tensors = Napi::Array::New(env, plan.params.size());
  for (size_t i = 0; i < plan.params.size(); ++i) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", plan.params[i].name);
    t.Set("shape", shape_array(env, plan.params[i].shape));
    tensors.Set(static_cast<uint32_t>(i), t);
  }
  o.Set("tensors", tensors);
  return o;
}

// The bytes a synchronously built network of `plan` needs at `max_batch`, checked against the default
// memory budget and the kernels' index limits before anything is allocated: CoreError("out_of_memory",
// "<what> needs an estimated ...<at>, more than the memory budget of ...") when over it.
std::int64_t check_network_budget(const Plan& plan, int max_batch, const std::string& what, const std::string& at) {
  const NetworkLayout layout = layout_network(plan, max_batch);
  const std::int64_t budget = default_memory_budget(), bytes = layout.bytes();
  if (bytes > budget)
    throw CoreError("out_of_memory", what + " needs an estimated " + format_bytes(bytes) + " (" + std::to_string(bytes) + " bytes)" + at +
                                         ", more than the memory budget of " + format_bytes(budget) + " (" + std::to_string(budget) + " bytes)");
  layout.check_indices();
  return bytes;
}

// A network held by JavaScript, for inspection and tests on small inputs. Its methods run
// synchronously on the calling thread; training goes through train(), which is asynchronous.
class NetworkHandle final : public Napi::ObjectWrap<NetworkHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Network",
                       {InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::Params>>("params"),
                        InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::State>>("state"),
                        InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::SetParams>>("setParams"),
                        InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::SetState>>("setState"),
                        InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::Forward>>("forward"),
                        InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::Backward>>("backward"),
                        InstanceMethod<&NetworkHandle::Guarded<&NetworkHandle::Proxies>>("proxies")});
  }

  // new Network(nodes, inputShape, outputSize, maxBatch, seed)
  explicit NetworkHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkHandle>(info) {
    Napi::Env env = info.Env();
    std::vector<NodeSpec> nodes = get_nodes(info[0], "nodes");
    Shape input = get_shape(info[1], "inputShape");
    Napi::Object args = Napi::Object::New(env);
    args.Set("outputSize", info[2]);
    args.Set("maxBatch", info[3]);
    args.Set("seed", info[4]);
    const int outputs = get_int(args, "outputSize", "", 1, 1 << 20, 0, true);
    const int max_batch = get_int(args, "maxBatch", "", 1, 1 << 16, 0, true);
    const double seed = get_number(args, "seed", "", 0, 9007199254740991.0, 0);
    guarded(env, [&] {
      Plan plan = build_plan(nodes, input, outputs);
      // Budget before allocating: a plan too big for the machine is an error, not an abort.
      bytes_ = check_network_budget(plan, max_batch, "the network", " at maxBatch " + std::to_string(max_batch));
      net_ = std::make_unique<Network>(std::move(plan), max_batch, cpu_backend());
      net_->init_params(static_cast<std::uint64_t>(seed));
    });
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes_);
  }
  ~NetworkHandle() override {
    if (net_) Napi::MemoryManagement::AdjustExternalMemory(Env(), -bytes_);
  }

 private:
  template <Napi::Value (NetworkHandle::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return (this->*Method)(info); });
  }

  Napi::Value Params(const Napi::CallbackInfo& info) { return tensors_to_js(info.Env(), net_->plan().params, net_->params()); }
  Napi::Value State(const Napi::CallbackInfo& info) { return tensors_to_js(info.Env(), net_->plan().state, net_->state()); }

  static void assign(Napi::Env env, const Napi::Value& v, const std::vector<TensorInfo>& tensors, std::vector<float>& dst,
                     const char* name) {
    if (!v.IsArray()) throw_type(env, name, "an array of " + std::to_string(tensors.size()) + " Float32Arrays", v);
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() != tensors.size())
      throw_range(env, name, "an array of " + std::to_string(tensors.size()) + " Float32Arrays", v);
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Float32Array f = get_f32(a.Get(i), std::string(name) + "[" + std::to_string(i) + "]", tensors[i].size);
      std::copy_n(f.Data(), tensors[i].size, dst.data() + tensors[i].offset);
    }
  }
  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    assign(info.Env(), info[0], net_->plan().params, net_->params(), "params");
    return info.Env().Undefined();
  }
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    assign(info.Env(), info[0], net_->plan().state, net_->state(), "state");
    return info.Env().Undefined();
  }

  // forward(x: Float32Array, batch, training: boolean, seed?) -> Float32Array (batch × outputSize)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object args = Napi::Object::New(env);
    args.Set("batch", info[1]);
    args.Set("seed", info[3]);
    const int batch = get_int(args, "batch", "", 1, net_->max_batch(), 0, true);
    const double seed = get_number(args, "seed", "", 0, 9007199254740991.0, 0);
    Napi::Float32Array x = get_f32(info[0], "x", batch * net_->plan().input.size());
    if (!info[2].IsBoolean()) throw_type(env, "training", "a boolean", info[2]);
    input_.assign(x.Data(), x.Data() + x.ElementLength());
    Rng rng(static_cast<std::uint64_t>(seed));
    SerialTeam team;
    const float* y = net_->forward(input_.data(), batch, info[2].As<Napi::Boolean>().Value(), &rng, &team);
    batch_ = batch;
    const size_t n = static_cast<size_t>(batch) * static_cast<size_t>(net_->plan().output_size);
    Napi::Float32Array out = Napi::Float32Array::New(env, n);
    std::copy_n(y, n, out.Data());
    return out;
  }

  // backward(dOutput: Float32Array, wantInputGrad: boolean) -> { params: Float32Array[], input?: Float32Array }
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (batch_ == 0) throw core_error(env, "engine", "backward() needs a forward() first");
    Napi::Float32Array dy = get_f32(info[0], "dOutput", static_cast<std::int64_t>(batch_) * net_->plan().output_size);
    const bool want_input = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    std::vector<float> dx(want_input ? static_cast<size_t>(batch_ * net_->plan().input.size()) : 0);
    SerialTeam team;
    net_->backward(dy.Data(), want_input ? dx.data() : nullptr, &team);
    Napi::Object o = Napi::Object::New(env);
    Napi::Array grads = tensors_to_js(env, net_->plan().params, net_->grads());
    Napi::Array plain = Napi::Array::New(env, grads.Length());
    for (uint32_t i = 0; i < grads.Length(); ++i) plain.Set(i, grads.Get(i).As<Napi::Object>().Get("data"));
    o.Set("params", plain);
    if (want_input) {
      Napi::Float32Array in = Napi::Float32Array::New(env, dx.size());
      std::copy(dx.begin(), dx.end(), in.Data());
      o.Set("input", in);
    }
    return o;
  }

  // proxies(x: Float32Array, labels: Int32Array, count) -> { gradNorm, snip, fisher, synflow, jacov, naswot }
  // of the network as it is, on `count` samples (classification; its statistics and gradients are used up).
  Napi::Value Proxies(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object args = Napi::Object::New(env);
    args.Set("count", info[2]);
    const int count = get_int(args, "count", "", 1, net_->max_batch(), 0, true);
    Napi::Float32Array x = get_f32(info[0], "x", count * net_->plan().input.size());
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw_type(env, "labels", "an Int32Array", info[1]);
    Napi::Int32Array labels = info[1].As<Napi::Int32Array>();
    if (static_cast<int>(labels.ElementLength()) != count) throw_range(env, "labels", "an Int32Array of length " + std::to_string(count), info[1]);
    for (int i = 0; i < count; ++i)
      if (labels[static_cast<size_t>(i)] < 0 || labels[static_cast<size_t>(i)] >= net_->plan().output_size)
        throw_range(env, "labels", "class indices between 0 and " + std::to_string(net_->plan().output_size - 1), info[1]);
    const std::vector<float> xs(x.Data(), x.Data() + x.ElementLength());
    const std::vector<std::int32_t> ys(labels.Data(), labels.Data() + count);
    SerialTeam team;
    return proxy_scores_to_js(env, network_proxies(*net_, ProxyBatch{xs.data(), ys.data(), nullptr, count, Task::Classification}, 0, &team, cpu_backend()));
  }

  std::unique_ptr<Network> net_;
  std::int64_t bytes_ = 0;
  std::vector<float> input_;
  int batch_ = 0;
};

// loss(kind: "cross_entropy" | "mse", output, target, batch, width) -> { loss, correct, grad }
Napi::Value Loss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_type(env, "kind", "one of \"cross_entropy\", \"mse\"", info[0]);
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Object args = Napi::Object::New(env);
  args.Set("batch", info[3]);
  args.Set("width", info[4]);
  const int batch = get_int(args, "batch", "", 1, 1 << 20, 0, true);
  const int width = get_int(args, "width", "", 1, 1 << 20, 0, true);
  Napi::Float32Array out = get_f32(info[1], "output", static_cast<std::int64_t>(batch) * width);
  Napi::Float32Array grad = Napi::Float32Array::New(env, out.ElementLength());
  LossResult r;
  if (kind == "cross_entropy") {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw_type(env, "target", "an Int32Array", info[2]);
    Napi::Int32Array labels = info[2].As<Napi::Int32Array>();
    if (static_cast<int>(labels.ElementLength()) != batch) throw_range(env, "target", "an Int32Array of length " + std::to_string(batch), info[2]);
    for (int i = 0; i < batch; ++i)
      if (labels[static_cast<size_t>(i)] < 0 || labels[static_cast<size_t>(i)] >= width)
        throw_range(env, "target", "class indices between 0 and " + std::to_string(width - 1), info[2]);
    r = softmax_cross_entropy(out.Data(), labels.Data(), batch, width, grad.Data());
  } else if (kind == "mse") {
    Napi::Float32Array t = get_f32(info[2], "target", static_cast<std::int64_t>(batch) * width);
    r = mean_squared_error(out.Data(), t.Data(), batch, width, grad.Data());
  } else {
    throw_range(env, "kind", "one of \"cross_entropy\", \"mse\"", info[0]);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("correct", r.correct);
  o.Set("grad", grad);
  return o;
}

// optimizerStep(config, lr, step, decay, params, grads, m, v): one in-place update (for tests).
Napi::Value OptimizerStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cfg_obj = get_object(info[0], "config");
  OptimizerConfig cfg = get_optimizer(cfg_obj, "config");
  Napi::Object args = Napi::Object::New(env);
  args.Set("lr", info[1]);
  args.Set("step", info[2]);
  const float lr = static_cast<float>(get_number(args, "lr", "", 0, 1e3, 0));
  const int step = get_int(args, "step", "", 1, 1 << 30, 1, true);
  if (!info[3].IsBoolean()) throw_type(env, "decay", "a boolean", info[3]);
  Napi::Float32Array p = get_f32(info[4], "params");
  const std::int64_t n = static_cast<std::int64_t>(p.ElementLength());
  Napi::Float32Array g = get_f32(info[5], "grads", n);
  Napi::Float32Array m = get_f32(info[6], "m", n);
  Napi::Float32Array v = get_f32(info[7], "v", n);
  optimizer_update(cfg, lr, step, info[3].As<Napi::Boolean>().Value(), p.Data(), g.Data(), m.Data(), v.Data(), n);
  return env.Undefined();
}

// cosineLr(base, step, total, warmup) -> number
Napi::Value CosineLr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (int i = 0; i < 4; ++i)
    if (!info[i].IsNumber()) throw_type(env, "argument " + std::to_string(i), "a number", info[i]);
  return Napi::Number::New(env, cosine_lr(info[0].As<Napi::Number>().FloatValue(), info[1].As<Napi::Number>().Int64Value(),
                                          info[2].As<Napi::Number>().Int64Value(), info[3].As<Napi::Number>().Int64Value()));
}

// fmaPeak(threads, seconds) -> Promise<GFLOP/s>, on an engine thread.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object args = Napi::Object::New(env);
  args.Set("threads", info[0]);
  args.Set("seconds", info[1]);
  const int threads = get_int(args, "threads", "", 1, 1024, 1, true);
  const double seconds = get_number(args, "seconds", "", 0.01, 60, 0.5);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  return addon_state(env).threads.start(env, "nasx.fmaPeak", Napi::Function(), cancel, [=](const Post&) -> ResultBuilder {
    const double gflops = cpu::measure_fma_peak_gflops(threads, seconds, cancel.get());
    return [gflops](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, gflops); };
  });
}

// gemmBenchmark(m, n, k, threads, transA, transB, seconds) -> Promise<GFLOP/s>, on an engine thread.
Napi::Value GemmBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object args = Napi::Object::New(env);
  const char* names[] = {"m", "n", "k", "threads"};
  for (int i = 0; i < 4; ++i) args.Set(names[i], info[static_cast<size_t>(i)]);
  const int m = get_int(args, "m", "", 1, 16384, 0, true);
  const int n = get_int(args, "n", "", 1, 16384, 0, true);
  const int k = get_int(args, "k", "", 1, 16384, 0, true);
  const int threads = get_int(args, "threads", "", 1, 1024, 1, true);
  const bool ta = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  const bool tb = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  args.Set("seconds", info[6]);
  const double seconds = get_number(args, "seconds", "", 0.01, 60, 0.5);
  const std::int64_t bytes = (static_cast<std::int64_t>(m) * k + static_cast<std::int64_t>(k) * n + static_cast<std::int64_t>(m) * n) * 4 +
                             cpu_backend().gemm_workspace_bytes(m, n, k);
  if (bytes > default_memory_budget())
    throw CoreError("out_of_memory", "a " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " GEMM needs " +
                                         format_bytes(bytes) + ", more than the memory budget of " + format_bytes(default_memory_budget()));
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  return addon_state(env).threads.start(env, "nasx.gemmBenchmark", Napi::Function(), cancel, [=](const Post&) -> ResultBuilder {
    std::vector<float> a(static_cast<size_t>(m) * k, 0.5f), b(static_cast<size_t>(k) * n, 0.25f), c(static_cast<size_t>(m) * n);
    std::unique_ptr<Team> team = make_team(threads);
    team->set_cancel(cancel.get());
    const int lda = ta ? m : k, ldb = tb ? k : n;
    cpu::sgemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n, team.get());
    const auto start = std::chrono::steady_clock::now();
    std::int64_t reps = 0;
    double elapsed = 0;
    do {
      cpu::sgemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n, team.get());
      ++reps;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < seconds);
    cpu::release_gemm_scratch();
    const double gflops = 2.0 * m * n * k * static_cast<double>(reps) / elapsed / 1e9;
    return [gflops](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, gflops); };
  });
}

// inheritWeights(parent: { nodes, inputShape, outputSize, params, state }, child: { nodes, inputShape }, seed)
//   -> { params: tensors, state: tensors, report }: the child's weights from the parent's, synchronously
// (a copy of the weights' size: the child's memory is budgeted first).
Napi::Value InheritWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<const ParentWeights> parent = get_parent_weights(info[0], "parent");
  Napi::Object child = get_object(info[1], "child");
  std::vector<NodeSpec> nodes = get_nodes(child.Get("nodes"), "child.nodes");
  const Shape input = get_shape(child.Get("inputShape"), "child.inputShape");
  Napi::Object args = Napi::Object::New(env);
  args.Set("seed", info[2]);
  const double seed = get_number(args, "seed", "", 0, 9007199254740991.0, 0);
  Plan plan = build_plan(nodes, input, parent->plan.output_size);
  check_network_budget(plan, 1, "the child network", "");
  Network net(std::move(plan), 1, cpu_backend());
  init_for_training(net, static_cast<std::uint64_t>(seed));
  const InheritReport report = inherit_for_training(net, *parent, static_cast<std::uint64_t>(seed));
  Napi::Object out = Napi::Object::New(env);
  out.Set("params", tensors_to_js(env, net.plan().params, net.params()));
  out.Set("state", tensors_to_js(env, net.plan().state, net.state()));
  out.Set("report", inherit_report_to_js(env, report));
  return out;
}

// memoryInfo() -> { availableBytes, defaultBudgetBytes, heldBytes }: what the memory budget sees.
Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("availableBytes", Napi::Number::New(env, static_cast<double>(available_memory_bytes())));
  o.Set("defaultBudgetBytes", Napi::Number::New(env, static_cast<double>(default_memory_budget())));
  o.Set("heldBytes", Napi::Number::New(env, static_cast<double>(MemoryAccount::global().held())));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new AddonState();
  env.SetInstanceData<AddonState>(state);  // deleted by node-addon-api when the environment goes away
  // Runs at teardown (process exit, worker termination) before the instance data is freed: every
  // engine thread of this environment is cancelled and joined, so none outlives what it uses.
  env.AddCleanupHook([state] { state->threads.shutdown(); });
  exports.Set("train", Napi::Function::New(env, guarded_entry<Train>, "train"));
  exports.Set("plan", Napi::Function::New(env, guarded_entry<PlanNetwork>, "plan"));
  exports.Set("loss", Napi::Function::New(env, guarded_entry<Loss>, "loss"));
  exports.Set("optimizerStep", Napi::Function::New(env, guarded_entry<OptimizerStep>, "optimizerStep"));
  exports.Set("cosineLr", Napi::Function::New(env, guarded_entry<CosineLr>, "cosineLr"));
  exports.Set("fmaPeak", Napi::Function::New(env, guarded_entry<FmaPeak>, "fmaPeak"));
  exports.Set("gemmBenchmark", Napi::Function::New(env, guarded_entry<GemmBenchmark>, "gemmBenchmark"));
  exports.Set("memoryInfo", Napi::Function::New(env, guarded_entry<MemoryInfo>, "memoryInfo"));
  exports.Set("scoreProxies", Napi::Function::New(env, guarded_entry<ScoreProxies>, "scoreProxies"));
  exports.Set("inheritWeights", Napi::Function::New(env, guarded_entry<InheritWeights>, "inheritWeights"));
  exports.Set("Network", NetworkHandle::Define(env));
  Napi::Function dataset = DatasetHandle::Define(env);
  state->dataset_class = Napi::Persistent(dataset);
  exports.Set("Dataset", dataset);
  register_mcts(env, exports);
  Napi::Object info = Napi::Object::New(env);
  info.Set("gemmIsa", cpu::gemm_isa());
  info.Set("hardwareThreads", hardware_threads());
  Napi::Array backends = Napi::Array::New(env, 1);
  backends.Set(0u, Napi::String::New(env, "cpu"));
  info.Set("backends", backends);
#ifdef NASX_WITH_CUDA
  info.Set("cudaCompiled", true);
#else
  info.Set("cudaCompiled", false);
#endif
  std::string why_none;
  const std::vector<DeviceInfo> devices = cuda_devices(&why_none);
  Napi::Array gpus = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", devices[i].name);
    d.Set("memoryGiB", devices[i].memory_gib);
    d.Set("computeCapability", std::to_string(devices[i].major) + "." + std::to_string(devices[i].minor));
    gpus.Set(static_cast<uint32_t>(i), d);
  }
  info.Set("cudaDevices", gpus);
  if (devices.empty()) info.Set("cudaUnavailableReason", why_none);
  exports.Set("buildInfo", info);
  return exports;
}

}  // namespace
}  // namespace nasx::binding

static Napi::Object InitNasx(Napi::Env env, Napi::Object exports) { return nasx::binding::Init(env, exports); }

NODE_API_MODULE(nasx, InitNasx)
