#include "convert.h"

#include <cmath>
#include <sstream>

namespace nasx::binding {

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsString()) return "\"" + v.As<Napi::String>().Utf8Value() + "\" of type string";
  if (v.IsNumber()) {
    std::ostringstream os;
    os << v.As<Napi::Number>().DoubleValue() << " of type number";
    return os.str();
  }
  if (v.IsBoolean()) return std::string(v.As<Napi::Boolean>().Value() ? "true" : "false") + " of type boolean";
  if (v.IsArray()) return "an array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

void throw_type(Napi::Env env, const std::string& name, const std::string& expected, const Napi::Value& v) {
  throw Napi::TypeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(v));
}

void throw_range(Napi::Env env, const std::string& name, const std::string& expected, const Napi::Value& v) {
  throw Napi::RangeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(v));
}

Napi::Object get_object(const Napi::Value& v, const std::string& name) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) throw_type(v.Env(), name, "an object", v);
  return v.As<Napi::Object>();
}

int get_int(const Napi::Object& o, const char* key, const std::string& ctx, int min, int max, int fallback, bool required) {
  Napi::Value v = o.Get(key);
  const std::string name = ctx.empty() ? key : ctx + "." + key;
  if (v.IsUndefined() && !required) return fallback;
  const std::string expected = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  if (!v.IsNumber()) throw_type(o.Env(), name, expected, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || std::floor(d) != d) throw_range(o.Env(), name, expected, v);
  return static_cast<int>(d);
}

double get_number(const Napi::Object& o, const char* key, const std::string& ctx, double min, double max, double fallback,
                  bool exclusive_min) {
  Napi::Value v = o.Get(key);
  const std::string name = ctx.empty() ? key : ctx + "." + key;
  if (v.IsUndefined()) return fallback;
  std::ostringstream expected;
  if (exclusive_min) expected << "a number greater than " << min << " and at most " << max;
  else expected << "a number between " << min << " and " << max;
  if (!v.IsNumber()) throw_type(o.Env(), name, expected.str(), v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!((exclusive_min ? d > min : d >= min) && d <= max)) throw_range(o.Env(), name, expected.str(), v);
  return d;
}

bool get_bool(const Napi::Object& o, const char* key, const std::string& ctx, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_type(o.Env(), ctx.empty() ? key : ctx + "." + key, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

Shape get_shape(const Napi::Value& v, const std::string& name) {
  const std::string expected = "an array of 3 positive integers [height, width, channels]";
  if (!v.IsArray()) throw_type(v.Env(), name, expected, v);
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != 3) throw_range(v.Env(), name, expected, v);
  int dims[3];
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber()) throw_type(v.Env(), name, expected, v);
    const double x = d.As<Napi::Number>().DoubleValue();
    if (!(x >= 1 && x <= 1 << 20) || std::floor(x) != x) throw_range(v.Env(), name, expected, v);
    dims[i] = static_cast<int>(x);
  }
  return Shape{dims[0], dims[1], dims[2]};
}

namespace {

OpKind parse_op(const Napi::Value& v, const std::string& name) {
  static const std::pair<const char*, OpKind> ops[] = {
      {"dense", OpKind::Dense},
      {"conv2d", OpKind::Conv2d},
      {"depthwise_conv2d", OpKind::DepthwiseConv2d},
      {"max_pool", OpKind::MaxPool},
      {"avg_pool", OpKind::AvgPool},
      {"global_avg_pool", OpKind::GlobalAvgPool},
      {"batch_norm", OpKind::BatchNorm},
      {"dropout", OpKind::Dropout},
      {"activation", OpKind::Activation},
      {"flatten", OpKind::Flatten},
      {"add", OpKind::Add},
  };
  std::string expected = "one of";
  for (const auto& [k, op] : ops) expected += std::string(" \"") + k + "\"";
  if (!v.IsString()) throw_type(v.Env(), name, expected, v);
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (const auto& [k, op] : ops)
    if (s == k) return op;
  throw_range(v.Env(), name, expected, v);
}

ActivationKind parse_activation(const Napi::Value& v, const std::string& name) {
  static const std::pair<const char*, ActivationKind> acts[] = {
      {"identity", ActivationKind::Identity}, {"relu", ActivationKind::Relu},       {"gelu", ActivationKind::Gelu},
      {"tanh", ActivationKind::Tanh},         {"sigmoid", ActivationKind::Sigmoid},
  };
  const std::string expected = "one of \"identity\", \"relu\", \"gelu\", \"tanh\", \"sigmoid\"";
  if (!v.IsString()) throw_type(v.Env(), name, expected, v);
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (const auto& [k, a] : acts)
    if (s == k) return a;
  throw_range(v.Env(), name, expected, v);
}

DataSplit get_split(const Napi::Object& data, const char* key, const std::string& ctx, Task task, int outputs,
                    std::int64_t features, bool required) {
  Napi::Value v = data.Get(key);
  const std::string name = ctx + "." + key;
  DataSplit s;
  if (v.IsUndefined() && !required) return s;
  Napi::Object o = get_object(v, name);
  const std::int64_t count = get_int(o, "count", name, 0, 1 << 30, 0, true);
  s.count = count;
  Napi::Float32Array x = get_f32(o.Get("x"), name + ".x", count * features);
  s.x = x.Data();
  Napi::Value y = o.Get("y");
  if (task == Task::Classification) {
    if (!y.IsTypedArray() || y.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw_type(v.Env(), name + ".y", "an Int32Array of class indices", y);
    Napi::Int32Array labels = y.As<Napi::Int32Array>();
    if (static_cast<std::int64_t>(labels.ElementLength()) != count)
      throw_range(v.Env(), name + ".y", "an Int32Array of length " + std::to_string(count), y);
    s.labels = labels.Data();
  } else {
    Napi::Float32Array t = get_f32(y, name + ".y", count * outputs);
    s.targets = t.Data();
  }
  return s;
}

}  // namespace

Napi::Float32Array get_f32(const Napi::Value& v, const std::string& name, std::int64_t expected) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(v.Env(), name, "a Float32Array", v);
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (expected >= 0 && static_cast<std::int64_t>(a.ElementLength()) != expected)
    throw_range(v.Env(), name, "a Float32Array of length " + std::to_string(expected), v);
  return a;
}

std::vector<NodeSpec> get_nodes(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw_type(v.Env(), name, "an array of layer nodes", v);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<NodeSpec> nodes;
  nodes.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const std::string ctx = name + "[" + std::to_string(i) + "]";
    Napi::Object o = get_object(a.Get(i), ctx);
    NodeSpec n;
    n.op = parse_op(o.Get("op"), ctx + ".op");
    Napi::Value nm = o.Get("name");
    if (nm.IsString()) n.name = nm.As<Napi::String>().Utf8Value();
    else if (!nm.IsUndefined()) throw_type(o.Env(), ctx + ".name", "a string", nm);
    Napi::Value ins = o.Get("inputs");
    if (!ins.IsUndefined()) {
      if (!ins.IsArray()) throw_type(o.Env(), ctx + ".inputs", "an array of node indices", ins);
      Napi::Array ia = ins.As<Napi::Array>();
      for (uint32_t j = 0; j < ia.Length(); ++j) {
        Napi::Value x = ia.Get(j);
        const std::string iname = ctx + ".inputs[" + std::to_string(j) + "]";
        if (!x.IsNumber()) throw_type(o.Env(), iname, "an integer", x);
        const double d = x.As<Napi::Number>().DoubleValue();
        if (std::floor(d) != d || d < -1 || d >= i) throw_range(o.Env(), iname, "an integer between -1 and " + std::to_string(static_cast<int>(i) - 1), x);
        n.inputs.push_back(static_cast<int>(d));
      }
    }
    // Sizes are range-checked by the planner, which names the layer; here only their types.
    n.units = get_int(o, "units", ctx, -(1 << 30), 1 << 30, 0);
    n.filters = get_int(o, "filters", ctx, -(1 << 30), 1 << 30, 0);
    n.kernel = get_int(o, "kernel", ctx, -(1 << 30), 1 << 30, 0);
    n.stride = get_int(o, "stride", ctx, -(1 << 30), 1 << 30, 1);
    n.bias = get_bool(o, "bias", ctx, true);
    n.project = get_bool(o, "project", ctx, false);
    n.rate = static_cast<float>(get_number(o, "rate", ctx, -1e9, 1e9, 0.0));
    Napi::Value act = o.Get("activation");
    if (!act.IsUndefined()) n.activation = parse_activation(act, ctx + ".activation");
    nodes.push_back(std::move(n));
  }
  return nodes;
}

TrainData get_train_data(const Napi::Value& v, const std::string& name) {
  Napi::Object o = get_object(v, name);
  TrainData d;
  d.input = get_shape(o.Get("inputShape"), name + ".inputShape");
  Napi::Value task = o.Get("task");
  if (!task.IsString()) throw_type(v.Env(), name + ".task", "one of \"classification\", \"regression\"", task);
  const std::string t = task.As<Napi::String>().Utf8Value();
  if (t == "classification") d.task = Task::Classification;
  else if (t == "regression") d.task = Task::Regression;
  else throw_range(v.Env(), name + ".task", "one of \"classification\", \"regression\"", task);
  d.output_size = get_int(o, "outputSize", name, 1, 1 << 20, 0, true);
  const std::int64_t features = d.input.size();
  d.train = get_split(o, "train", name, d.task, d.output_size, features, true);
  d.validation = get_split(o, "validation", name, d.task, d.output_size, features, false);
  d.test = get_split(o, "test", name, d.task, d.output_size, features, false);
  return d;
}

OptimizerConfig get_optimizer(const Napi::Object& o, const std::string& ctx) {
  OptimizerConfig c;
  Napi::Value kind = o.Get("optimizer");
  if (!kind.IsUndefined()) {
    const std::string expected = "one of \"sgd\", \"adamw\"";
    if (!kind.IsString()) throw_type(o.Env(), ctx.empty() ? "optimizer" : ctx + ".optimizer", expected, kind);
    const std::string k = kind.As<Napi::String>().Utf8Value();
    if (k == "sgd") c.kind = OptimizerKind::Sgd;
    else if (k == "adamw") c.kind = OptimizerKind::AdamW;
    else throw_range(o.Env(), ctx.empty() ? "optimizer" : ctx + ".optimizer", expected, kind);
  }
  c.lr = static_cast<float>(get_number(o, "lr", ctx, 0, 1e3, c.kind == OptimizerKind::Sgd ? 0.05 : 1e-3, true));
  c.momentum = static_cast<float>(get_number(o, "momentum", ctx, 0.0, 0.9999, 0.9));
  c.nesterov = get_bool(o, "nesterov", ctx, false);
  c.weight_decay = static_cast<float>(get_number(o, "weightDecay", ctx, 0.0, 10.0, c.kind == OptimizerKind::Sgd ? 5e-4 : 1e-4));
  c.beta1 = static_cast<float>(get_number(o, "beta1", ctx, 0.0, 0.9999, 0.9));
  c.beta2 = static_cast<float>(get_number(o, "beta2", ctx, 0.0, 0.99999, 0.999));
  c.eps = static_cast<float>(get_number(o, "eps", ctx, 1e-30, 1.0, 1e-8));
  return c;
}

TrainOptions get_train_options(const Napi::Value& v, const std::string& name) {
  TrainOptions t;
  if (v.IsUndefined()) return t;
  Napi::Object o = get_object(v, name);
  t.epochs = get_int(o, "epochs", name, 0, 100000, 1);
  t.batch_size = get_int(o, "batchSize", name, 1, 65536, 128);
  t.optimizer = get_optimizer(o, name);
  t.warmup_fraction = static_cast<float>(get_number(o, "warmupFraction", name, 0.0, 1.0, 0.05));
  t.seed = static_cast<std::uint64_t>(get_number(o, "seed", name, 0, 9007199254740991.0, 0));
  t.threads = get_int(o, "threads", name, 0, 1024, 0);
  t.data_fraction = get_number(o, "dataFraction", name, 0, 1.0, 1.0, true);
  t.resolution = get_int(o, "resolution", name, 0, 4096, 0);
  t.keep_weights = get_bool(o, "keepWeights", name, false);
  t.keep_state = get_bool(o, "keepState", name, false);
  t.schedule_epochs = get_int(o, "scheduleEpochs", name, 0, 100000, 0);
  t.max_memory = static_cast<std::int64_t>(get_number(o, "maxMemory", name, 1 << 20, 9007199254740991.0, 0));
  return t;
}

std::shared_ptr<const TrainingState> get_training_state(const Napi::Value& v, const std::string& name) {
  Napi::Object o = get_object(v, name);
  auto st = std::make_shared<TrainingState>();
  st->epochs_done = get_int(o, "epochsDone", name, 1, 100000, 0, true);
  const double steps = get_number(o, "steps", name, 0, 9007199254740991.0, -1);
  if (steps < 0 || std::floor(steps) != steps) throw_range(o.Env(), name + ".steps", "an integer >= 0", o.Get("steps"));
  st->steps = static_cast<std::int64_t>(steps);
  Napi::Value rng = o.Get("rng");
  if (!rng.IsTypedArray() || rng.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || rng.As<Napi::Uint32Array>().ElementLength() != 4)
    throw_type(o.Env(), name + ".rng", "a Uint32Array of length 4", rng);
  Napi::Uint32Array words = rng.As<Napi::Uint32Array>();
  st->dropout_rng[0] = (static_cast<std::uint64_t>(words[0]) << 32) | words[1];
  st->dropout_rng[1] = (static_cast<std::uint64_t>(words[2]) << 32) | words[3];
  auto copy = [&](const char* key, std::vector<float>& into) {
    Napi::Float32Array a = get_f32(o.Get(key), name + "." + key);
    into.assign(a.Data(), a.Data() + a.ElementLength());
  };
  copy("params", st->params);
  copy("state", st->state);
  copy("m", st->m);
  copy("v", st->v);
  return st;
}

std::shared_ptr<const ParentWeights> get_parent_weights(const Napi::Value& v, const std::string& name) {
  Napi::Object o = get_object(v, name);
  std::vector<NodeSpec> nodes = get_nodes(o.Get("nodes"), name + ".nodes");
  const Shape input = get_shape(o.Get("inputShape"), name + ".inputShape");
  const int outputs = get_int(o, "outputSize", name, 1, 1 << 20, 0, true);
  auto parent = std::make_shared<ParentWeights>();
  try {
    parent->plan = build_plan(nodes, input, outputs);
  } catch (const CoreError& e) {
    throw core_error(o.Env(), e.code(), "the parent (" + name + ") cannot be planned: " + e.what());
  }
  auto copy = [&](const char* key, const std::vector<TensorInfo>& tensors, std::int64_t total, std::vector<float>& into) {
    const std::string ctx = name + "." + key;
    Napi::Value list = o.Get(key);
    if (!list.IsArray()) throw_type(o.Env(), ctx, "an array of " + std::to_string(tensors.size()) + " tensors ({ name, shape, data })", list);
    Napi::Array a = list.As<Napi::Array>();
    if (a.Length() != tensors.size())
      throw_range(o.Env(), ctx, "an array of " + std::to_string(tensors.size()) + " tensors (the parent network's)", list);
    into.resize(static_cast<size_t>(total));
    for (uint32_t i = 0; i < a.Length(); ++i) {
      const std::string item = ctx + "[" + std::to_string(i) + "]";
      Napi::Object t = get_object(a.Get(i), item);
      Napi::Value tname = t.Get("name");
      if (!tname.IsUndefined() && (!tname.IsString() || tname.As<Napi::String>().Utf8Value() != tensors[i].name))
        throw_range(o.Env(), item + ".name", "\"" + tensors[i].name + "\" (the parent network's tensor at this position)", tname);
      Napi::Float32Array data = get_f32(t.Get("data"), item + ".data", tensors[i].size);
      std::copy_n(data.Data(), tensors[i].size, into.data() + tensors[i].offset);
    }
  };
  copy("params", parent->plan.params, parent->plan.param_count, parent->params);
  copy("state", parent->plan.state, parent->plan.state_count, parent->state);
  return parent;
}

Napi::Object inherit_report_to_js(Napi::Env env, const InheritReport& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("functionPreserving", r.function_preserving);
  if (!r.reason.empty()) o.Set("reason", r.reason);
  auto list = [&](const std::vector<InheritedTensor>& ts) {
    Napi::Array a = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("tensor", ts[i].name);
      t.Set("from", ts[i].from.empty() ? env.Null() : Napi::String::New(env, ts[i].from));
      t.Set("how", ts[i].how);
      a.Set(static_cast<uint32_t>(i), t);
    }
    return a;
  };
  o.Set("params", list(r.params));
  o.Set("state", list(r.state));
  return o;
}

Napi::Object training_state_to_js(Napi::Env env, const TrainingState& st) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epochsDone", st.epochs_done);
  o.Set("steps", Napi::Number::New(env, static_cast<double>(st.steps)));
  Napi::Uint32Array rng = Napi::Uint32Array::New(env, 4);
  rng[0] = static_cast<std::uint32_t>(st.dropout_rng[0] >> 32);
  rng[1] = static_cast<std::uint32_t>(st.dropout_rng[0]);
  rng[2] = static_cast<std::uint32_t>(st.dropout_rng[1] >> 32);
  rng[3] = static_cast<std::uint32_t>(st.dropout_rng[1]);
  o.Set("rng", rng);
  auto array = [&](const std::vector<float>& values) {
    Napi::Float32Array a = Napi::Float32Array::New(env, values.size());
    std::copy(values.begin(), values.end(), a.Data());
    return a;
  };
  o.Set("params", array(st.params));
  o.Set("state", array(st.state));
  o.Set("m", array(st.m));
  o.Set("v", array(st.v));
  return o;
}

Napi::Error core_error(Napi::Env env, const std::string& code, const std::string& message) {
  std::string js_code = "ERR_NASX_ENGINE";
  if (code == "invalid_arch") js_code = "ERR_NASX_INVALID_ARCH";
  else if (code == "invalid_argument") js_code = "ERR_NASX_INVALID_ARGUMENT";
  else if (code == "out_of_memory") js_code = "ERR_NASX_OUT_OF_MEMORY";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, js_code));
  return e;
}

void throw_core(Napi::Env env, const CoreError& e) { throw core_error(env, e.code(), e.what()); }

}  // namespace nasx::binding
