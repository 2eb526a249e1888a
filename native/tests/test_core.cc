// Tests for native/core without Node: planning and its error messages, gradients by finite
// differences, and the batched trainer (statuses, cancellation, determinism). Run under ASan/UBSan
// in CI. Standalone: exits non-zero on failure.
#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "check.h"
#include "specs.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/plan.h"
#include "core/trainer.h"

using namespace nasx;
using namespace nasx::testing;

namespace {


std::string plan_error(const std::vector<NodeSpec>& nodes, Shape input, int outputs) {
  try {
    build_plan(nodes, input, outputs);
  } catch (const CoreError& e) {
    return e.code() + ": " + e.what();
  }
  return "";
}

void test_plan_errors() {
  NodeSpec bad_kernel = conv(4, 4, 1);
  bad_kernel.name = "layers[0]";
  CHECK(plan_error({bad_kernel, dense(3)}, Shape{5, 5, 1}, 3) == "invalid_arch: layers[0] (conv2d): kernel must be 1, 3 or 5 but got 4");
  NodeSpec zero = dense(0);
  CHECK(plan_error({zero}, Shape{1, 1, 4}, 3) == "invalid_arch: nodes[0] (dense): units must be a positive integer but got 0");
  NodeSpec add = node(OpKind::Add);
  add.inputs = {0, -1};
  CHECK(plan_error({dense(5), add, dense(3)}, Shape{1, 1, 4}, 3) ==
        "invalid_arch: nodes[1] (add): inputs must have equal shapes but got [1,1,5] and [1,1,4]");
  NodeSpec forward_ref = dense(3);
  forward_ref.inputs = {1};
  CHECK(plan_error({forward_ref}, Shape{1, 1, 4}, 3) ==
        "invalid_arch: nodes[0] (dense): inputs must refer to earlier layers (-1 for the network input, at most -1) but got 1");
  CHECK(plan_error({dense(4)}, Shape{1, 1, 4}, 3) ==
        "invalid_arch: nodes[0] (dense): the network's output must have 3 values per sample but has 4 (shape [1,1,4])");
  NodeSpec drop = node(OpKind::Dropout);
  drop.rate = 1.5f;
  CHECK(plan_error({drop, dense(3)}, Shape{1, 1, 4}, 3) == "invalid_arch: nodes[0] (dropout): rate must be a number in [0, 1) but got 1.5");
  CHECK(plan_error({}, Shape{1, 1, 4}, 3) == "invalid_arch: the network has no layers");

  // Shapes, parameters and FLOPs of a small CNN with a projected residual.
  NodeSpec res = node(OpKind::Add);
  res.inputs = {0, -1};
  res.project = true;
  Plan p = build_plan({conv(8, 3, 2), res, node(OpKind::GlobalAvgPool), dense(10)}, Shape{7, 7, 3}, 10);
  CHECK(p.nodes.size() == 5);  // the projection was inserted before the add
  CHECK(p.nodes[0].out == (Shape{4, 4, 8}));
  CHECK(p.nodes[1].spec.op == OpKind::Conv2d && p.nodes[1].spec.stride == 2 && p.nodes[1].spec.kernel == 1);
  CHECK(p.param_count == (3 * 3 * 3 * 8 + 8) + (3 * 8) + (8 * 10 + 10));
}

// d(Σ y·r)/dθ against central differences, in float, on a network touching every layer kind.
void test_gradients() {
  NodeSpec bn = node(OpKind::BatchNorm);
  NodeSpec dw = node(OpKind::DepthwiseConv2d);
  dw.kernel = 3;
  dw.stride = 1;
  NodeSpec mp = node(OpKind::MaxPool);
  mp.kernel = 2;
  mp.stride = 2;
  NodeSpec ap = node(OpKind::AvgPool);
  ap.kernel = 3;
  ap.stride = 1;
  NodeSpec add = node(OpKind::Add);
  add.inputs = {5, 3};
  NodeSpec drop = node(OpKind::Dropout);
  drop.rate = 0.25f;
  std::vector<NodeSpec> nodes = {conv(4, 3, 1), bn, act(ActivationKind::Gelu), dw, act(ActivationKind::Tanh), ap, add, mp,
                                 node(OpKind::Flatten), drop, dense(6), act(ActivationKind::Sigmoid), dense(3)};
  const int batch = 3;
  Network net(build_plan(nodes, Shape{6, 5, 2}, 3), batch, cpu_backend());
  net.init_params(11);
  Rng rng(5);
  for (float& p : net.params()) p += static_cast<float>(0.2 * rng.normal());
  std::vector<float> x(static_cast<size_t>(batch * 6 * 5 * 2)), r(static_cast<size_t>(batch * 3));
  for (float& v : x) v = static_cast<float>(rng.normal());
  for (float& v : r) v = static_cast<float>(rng.normal());
  const std::vector<float> state0 = net.state();
  SerialTeam team;
  auto loss = [&] {
    net.state() = state0;
    Rng drop_rng(42);
    const float* y = net.forward(x.data(), batch, true, &drop_rng, &team);
    double s = 0;
    for (size_t i = 0; i < r.size(); ++i) s += static_cast<double>(y[i]) * r[i];
    return s;
  };
  loss();
  std::vector<float> dx(x.size());
  net.backward(r.data(), dx.data(), &team);
  const std::vector<float> grads = net.grads();
  double worst = 0;
  const float eps = 1e-2f;
  auto compare = [&](double analytic, double numeric) {
    worst = std::max(worst, std::fabs(analytic - numeric) / std::max({1.0, std::fabs(analytic), std::fabs(numeric)}));
  };
  for (size_t i = 0; i < net.params().size(); i += 7) {
    const float orig = net.params()[i];
    net.params()[i] = orig + eps;
    const double up = loss();
    net.params()[i] = orig - eps;
    const double down = loss();
    net.params()[i] = orig;
    compare(grads[i], (up - down) / (2 * eps));
  }
  for (size_t i = 0; i < x.size(); i += 5) {
    const float orig = x[i];
    x[i] = orig + eps;
    const double up = loss();
    x[i] = orig - eps;
    const double down = loss();
    x[i] = orig;
    compare(dx[i], (up - down) / (2 * eps));
  }
  CHECK_MSG(worst < 2e-3, "worst relative gradient error " + std::to_string(worst));
}

struct Synthetic {
  std::vector<float> x, vx;
  std::vector<std::int32_t> y, vy;
  TrainData data;
};

// Two Gaussian blobs per class on 4×4×1 inputs.
void make_synthetic(Synthetic& s, int n, int classes) {
  Rng rng(1);
  auto fill = [&](std::vector<float>& x, std::vector<std::int32_t>& y, int count) {
    x.resize(static_cast<size_t>(count * 16));
    y.resize(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      const int c = i % classes;
      y[static_cast<size_t>(i)] = c;
      for (int j = 0; j < 16; ++j) x[static_cast<size_t>(i * 16 + j)] = static_cast<float>((j % classes == c ? 1.5 : 0.0) + rng.normal());
    }
  };
  fill(s.x, s.y, n);
  fill(s.vx, s.vy, n / 4);
  s.data.input = Shape{4, 4, 1};
  s.data.task = Task::Classification;
  s.data.output_size = classes;
  s.data.train = DataSplit{s.x.data(), s.y.data(), nullptr, n};
  s.data.validation = DataSplit{s.vx.data(), s.vy.data(), nullptr, n / 4};
  s.data.test = s.data.validation;
}

void test_trainer() {
  Synthetic s;
  make_synthetic(s, 400, 3);
  TrainOptions o;
  o.epochs = 4;
  o.batch_size = 32;
  o.seed = 3;
  o.threads = 2;
  o.optimizer.lr = 0.01f;

  Candidate good;
  good.nodes = {conv(4, 3, 1), act(ActivationKind::Relu), dense(3)};
  Candidate exploding;
  exploding.nodes = {dense(32), dense(32), dense(3)};
  exploding.own_optimizer = true;
  exploding.optimizer.kind = OptimizerKind::Sgd;
  exploding.optimizer.lr = 1e4f;
  Candidate invalid;
  invalid.nodes = {dense(5)};

  std::vector<CandidateResult> r = train_candidates({good, exploding, invalid}, s.data, o, nullptr, nullptr);
  CHECK(r.size() == 3);
  CHECK(r[0].status == CandidateStatus::Ok);
  CHECK_MSG(r[0].val_accuracy > 0.8, "val accuracy " + std::to_string(r[0].val_accuracy));
  CHECK(r[0].samples_seen == 4 * 400);
  CHECK(r[0].epochs.size() == 4);
  CHECK(r[1].status == CandidateStatus::Diverged);
  CHECK(r[2].status == CandidateStatus::Invalid);

  // Alone, with one thread, the good candidate trains to the identical result.
  o.threads = 1;
  std::vector<CandidateResult> alone = train_candidates({good}, s.data, o, nullptr, nullptr);
  CHECK(alone[0].val_loss == r[0].val_loss && alone[0].train_loss == r[0].train_loss);

  // A raised cancel flag stops every candidate.
  std::atomic<bool> cancel{true};
  std::vector<CandidateResult> c = train_candidates({good, good}, s.data, o, &cancel, nullptr);
  CHECK(c[0].status == CandidateStatus::Cancelled && c[1].status == CandidateStatus::Cancelled);

  // Fidelity: a data fraction trains on fewer samples; a resolution resamples the input.
  o.data_fraction = 0.25;
  o.resolution = 2;
  std::vector<CandidateResult> f = train_candidates({good}, s.data, o, nullptr, nullptr);
  CHECK(f[0].status == CandidateStatus::Ok);
  CHECK(f[0].samples_seen == 4 * 100);
  CHECK(f[0].input == (Shape{2, 2, 1}));

  // epochs 0 evaluates the initialised network: validation and test figures, no training.
  o.epochs = 0;
  std::vector<CandidateResult> z = train_candidates({good}, s.data, o, nullptr, nullptr);
  CHECK(z[0].status == CandidateStatus::Ok && z[0].samples_seen == 0 && z[0].epochs.empty());
  CHECK(std::isfinite(z[0].val_loss) && std::isfinite(z[0].test_loss) && std::isnan(z[0].train_loss));

  // Bad options are rejected with a message.
  o.epochs = -1;
  bool threw = false;
  try {
    train_candidates({good}, s.data, o, nullptr, nullptr);
  } catch (const CoreError& e) {
    threw = std::string(e.what()) == "epochs must be >= 0 but got -1";
  }
  CHECK(threw);
}

// Training 3 epochs, saving the state and continuing to 9 gives the weights of 9 epochs straight,
// bit for bit, when the schedule spans 9 epochs in both (dropout, batch norm and both optimizers).
void test_resume() {
  Synthetic s;
  make_synthetic(s, 300, 3);
  NodeSpec bn = node(OpKind::BatchNorm);
  NodeSpec drop = node(OpKind::Dropout);
  drop.rate = 0.2f;
  for (OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Sgd}) {
    TrainOptions o;
    o.batch_size = 32;
    o.seed = 5;
    o.threads = 1;
    o.schedule_epochs = 9;
    o.keep_weights = true;
    o.optimizer.kind = kind;
    o.optimizer.lr = kind == OptimizerKind::Sgd ? 0.05f : 0.005f;
    Candidate c;
    c.nodes = {conv(4, 3, 1), bn, act(ActivationKind::Relu), drop, dense(3)};
    o.epochs = 9;
    const CandidateResult straight = train_candidates({c}, s.data, o, nullptr, nullptr)[0];
    o.epochs = 3;
    o.keep_state = true;
    const CandidateResult first = train_candidates({c}, s.data, o, nullptr, nullptr)[0];
    CHECK(first.status == CandidateStatus::Ok && first.training_state && first.training_state->epochs_done == 3);
    Candidate more = c;
    more.resume = first.training_state;
    o.epochs = 9;
    o.keep_state = false;
    const CandidateResult resumed = train_candidates({more}, s.data, o, nullptr, nullptr)[0];
    CHECK(resumed.status == CandidateStatus::Ok);
    CHECK_MSG(resumed.weights == straight.weights && resumed.state == straight.state, "weights differ after resuming");
    CHECK(resumed.epochs.size() == 6 && resumed.epochs.front().epoch == 4);
    CHECK(resumed.val_loss == straight.val_loss && resumed.epochs.back().train_loss == straight.epochs.back().train_loss);
    CHECK(resumed.samples_seen == 6 * 300);
    // A schedule over 3 epochs alone decays to zero at epoch 3: not the same run.
    o.epochs = 3;
    o.schedule_epochs = 0;
    o.keep_weights = true;
    const CandidateResult short_run = train_candidates({c}, s.data, o, nullptr, nullptr)[0];
    CHECK(short_run.weights != first.training_state->params);
  }
  // A state that does not fit the candidate or the options fails that candidate, with the reason.
  TrainOptions o;
  o.batch_size = 32;
  o.epochs = 2;
  o.keep_state = true;
  Candidate c;
  c.nodes = {dense(8), dense(3)};
  const auto st = train_candidates({c}, s.data, o, nullptr, nullptr)[0].training_state;
  Candidate other;
  other.nodes = {dense(9), dense(3)};
  other.resume = st;
  Candidate same = c;
  same.resume = st;
  o.epochs = 4;
  o.batch_size = 64;
  const auto r = train_candidates({other, same}, s.data, o, nullptr, nullptr);
  CHECK_MSG(r[0].status == CandidateStatus::Failed &&
                r[0].error == "cannot resume: the state has 163 parameters and 0 statistics but the network has 183 and 0",
            r[0].error);
  CHECK_MSG(r[1].status == CandidateStatus::Failed &&
                r[1].error == "cannot resume: the state took 20 steps in 2 epochs, but this run takes 5 per epoch (same batch size and data fraction are needed)",
            r[1].error);
}

void test_resample() {
  // 4×4 → 2×2 area resampling averages 2×2 blocks.
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);
  std::vector<float> out(4);
  resample_images(x.data(), 1, Shape{4, 4, 1}, 2, 2, out.data());
  CHECK(std::fabs(out[0] - 2.5f) < 1e-5f && std::fabs(out[3] - 12.5f) < 1e-5f);
}

}  // namespace

int main() {
  test_plan_errors();
  test_gradients();
  test_trainer();
  test_resume();
  test_resample();
  return nasx::testing::summary("core");
}
