#include "trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "loss.h"
#include "network.h"
#include "parallel.h"
#include "rng.h"

namespace nasx {

const char* status_name(CandidateStatus s) {
  switch (s) {
    case CandidateStatus::Ok: return "ok";
    case CandidateStatus::Diverged: return "diverged";
    case CandidateStatus::Invalid: return "invalid";
    case CandidateStatus::Failed: return "failed";
    case CandidateStatus::Cancelled: return "cancelled";
  }
  return "failed";
}

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void bad_argument(const std::string& message) { throw CoreError("invalid_argument", message); }

void check_split(const char* name, const DataSplit& s, const TrainData& d, bool required) {
  if (s.count < 0) bad_argument(std::string(name) + ".count must be >= 0");
  if (s.count == 0) {
    if (required) bad_argument(std::string(name) + " split is empty");
    return;
  }
  if (!s.x) bad_argument(std::string(name) + ".x is missing");
  if (d.task == Task::Classification) {
    if (!s.labels) bad_argument(std::string(name) + ".y (labels) is missing");
    for (std::int64_t i = 0; i < s.count; ++i) {
      if (s.labels[i] < 0 || s.labels[i] >= d.output_size) {
        std::ostringstream os;
        os << name << ".y[" << i << "] must be a class index between 0 and " << d.output_size - 1 << " but got " << s.labels[i];
        bad_argument(os.str());
      }
    }
  } else if (!s.targets) {
    bad_argument(std::string(name) + ".y (targets) is missing");
  }
}

// 1D area-resampling weights: for each output index, the (input index, weight) pairs it averages.
std::vector<std::vector<std::pair<int, float>>> area_weights(int in, int out) {
  std::vector<std::vector<std::pair<int, float>>> w(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    for (int i = static_cast<int>(std::floor(lo)); i < static_cast<int>(std::ceil(hi)) && i < in; ++i) {
      const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      if (overlap > 1e-12) w[static_cast<size_t>(o)].push_back({i, static_cast<float>(overlap / scale)});
    }
  }
  return w;
}

struct Prepared {
  Shape input;
  std::vector<float> train, validation, test;  // resampled copies (empty when unchanged)
  TrainData data;
};

void prepare(const TrainData& d, const TrainOptions& o, Prepared& p) {
  p.data = d;
  p.input = d.input;
  if (o.resolution <= 0 || o.resolution == d.input.h) return;
  const int out_h = o.resolution;
  const int out_w = std::max(1, static_cast<int>(std::lround(static_cast<double>(d.input.w) * out_h / d.input.h)));
  const Shape out{out_h, out_w, d.input.c};
  auto one = [&](const DataSplit& s, std::vector<float>& buf, DataSplit& dst) {
    if (s.count == 0) return;
    buf.assign(static_cast<size_t>(s.count * out.size()), 0.0f);
    resample_images(s.x, s.count, d.input, out_h, out_w, buf.data());
    dst.x = buf.data();
  };
  one(d.train, p.train, p.data.train);
  one(d.validation, p.validation, p.data.validation);
  one(d.test, p.test, p.data.test);
  p.data.input = out;
  p.input = out;
}

struct Evaluation {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

Evaluation evaluate(Network& net, const TrainData& d, const DataSplit& s, Team* team) {
  Evaluation e;
  if (s.count == 0) return e;
  const int bs = net.max_batch();
  const std::int64_t in = d.input.size();
  double loss = 0.0;
  std::int64_t correct = 0;
  for (std::int64_t start = 0; start < s.count; start += bs) {
    const int n = static_cast<int>(std::min<std::int64_t>(bs, s.count - start));
    // Samples are contiguous in the split: the network reads them in place.
    const float* out = net.forward(s.x + start * in, n, false, nullptr, team);
    LossResult r = d.task == Task::Classification
                       ? softmax_cross_entropy(out, s.labels + start, n, d.output_size, nullptr)
                       : mean_squared_error(out, s.targets + start * d.output_size, n, d.output_size, nullptr);
    loss += r.loss * n;
    correct += r.correct;
  }
  e.loss = loss / static_cast<double>(s.count);
  if (d.task == Task::Classification) e.accuracy = static_cast<double>(correct) / static_cast<double>(s.count);
  return e;
}

class CandidateRun {
 public:
  CandidateRun(int index, const Candidate& candidate, const TrainData& d, const TrainOptions& o,
               const std::vector<std::vector<std::int32_t>>& order, Clock::time_point start,
               const std::atomic<bool>* cancel, const ProgressFn& progress, CandidateResult& result)
      : index_(index), arch_(candidate.nodes), opt_cfg_(candidate.own_optimizer ? candidate.optimizer : o.optimizer), d_(d), o_(o), order_(order), start_(start), cancel_(cancel), progress_(progress),
        r_(result) {}

  void run(Team* team) {
    r_.input = d_.input;
    std::unique_ptr<Network> net;
    try {
      Plan plan = build_plan(arch_, d_.input, d_.output_size);
      r_.params = plan.param_count;
      r_.flops = plan.flops;
      net = std::make_unique<Network>(std::move(plan), o_.batch_size, cpu_backend());
    } catch (const CoreError& e) {
      r_.status = e.code() == "invalid_arch" ? CandidateStatus::Invalid : CandidateStatus::Failed;
      r_.error = e.what();
      return;
    }
    try {
      train(*net, team);
    } catch (const std::bad_alloc&) {
      r_.status = CandidateStatus::Failed;
      r_.error = "out of memory while training";
    } catch (const std::exception& e) {
      r_.status = CandidateStatus::Failed;
      r_.error = e.what();
    }
    r_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    r_.samples_per_second = r_.seconds > 0 ? static_cast<double>(r_.samples_seen) / r_.seconds : 0.0;
    if (o_.keep_weights && r_.status == CandidateStatus::Ok) {
      r_.tensors = net->plan().params;
      r_.state_tensors = net->plan().state;
      r_.weights = net->params();
      r_.state = net->state();
    }
  }

 private:
  bool cancelled() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

  void train(Network& net, Team* team) {
    net.init_params(derive_seed(o_.seed, 0xA7C1));
    Optimizer opt(opt_cfg_, net.plan());
    Rng dropout_rng(derive_seed(o_.seed, 0xD209));
    const std::int64_t in = d_.input.size();
    const int bs = o_.batch_size;
    const int out = d_.output_size;
    std::vector<float> xbuf(static_cast<size_t>(bs * in));
    std::vector<std::int32_t> lbuf(static_cast<size_t>(bs));
    std::vector<float> tbuf(d_.task == Task::Regression ? static_cast<size_t>(bs * out) : 0);
    std::vector<float> dout(static_cast<size_t>(bs * out));
    const std::int64_t n = static_cast<std::int64_t>(order_.empty() ? 0 : order_[0].size());
    const std::int64_t steps_per_epoch = (n + bs - 1) / bs;
    const std::int64_t total = steps_per_epoch * o_.epochs;
    const std::int64_t warmup = static_cast<std::int64_t>(std::floor(o_.warmup_fraction * static_cast<double>(total)));
    const std::int64_t report_every = std::max<std::int64_t>(1, steps_per_epoch / 20);
    std::int64_t global = 0;
    for (int epoch = 0; epoch < o_.epochs; ++epoch) {
      const std::vector<std::int32_t>& idx = order_[static_cast<size_t>(epoch)];
      double loss_sum = 0.0;
      std::int64_t seen = 0;
      for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++global) {
        if (cancelled()) {
          r_.status = CandidateStatus::Cancelled;
          r_.error = "cancelled";
          return;
        }
        const std::int64_t begin = s * bs;
        const int b = static_cast<int>(std::min<std::int64_t>(bs, n - begin));
        for (int j = 0; j < b; ++j) {
          const std::int64_t src = idx[static_cast<size_t>(begin + j)];
          std::copy_n(d_.train.x + src * in, in, xbuf.data() + j * in);
          if (d_.task == Task::Classification) lbuf[static_cast<size_t>(j)] = d_.train.labels[src];
          else std::copy_n(d_.train.targets + src * out, out, tbuf.data() + j * out);
        }
        const float* y = net.forward(xbuf.data(), b, true, &dropout_rng, team);
        const LossResult lr = d_.task == Task::Classification
                                  ? softmax_cross_entropy(y, lbuf.data(), b, out, dout.data())
                                  : mean_squared_error(y, tbuf.data(), b, out, dout.data());
        if (!std::isfinite(lr.loss)) {
          std::ostringstream os;
          os << "training loss became " << lr.loss << " at epoch " << epoch + 1 << ", step " << s + 1;
          r_.status = CandidateStatus::Diverged;
          r_.error = os.str();
          r_.train_loss = lr.loss;
          return;
        }
        net.backward(dout.data(), nullptr, team);
        opt.step(net.params(), net.grads(), cosine_lr(opt_cfg_.lr, global, total, warmup), team);
        loss_sum += lr.loss * b;
        seen += b;
        r_.samples_seen += b;
        if (progress_ && (s + 1) % report_every == 0 && s + 1 < steps_per_epoch) {
          ProgressEvent ev;
          ev.kind = ProgressEvent::Kind::Step;
          ev.candidate = index_;
          ev.epoch = epoch + 1;
          ev.epochs = o_.epochs;
          ev.step = s + 1;
          ev.steps = steps_per_epoch;
          ev.train_loss = loss_sum / static_cast<double>(seen);
          ev.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
          progress_(ev);
        }
      }
      const Evaluation val = evaluate(net, d_, d_.validation, team);
      EpochRecord rec;
      rec.epoch = epoch + 1;
      rec.train_loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0.0;
      rec.val_loss = val.loss;
      rec.val_accuracy = val.accuracy;
      rec.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
      r_.epochs.push_back(rec);
      r_.train_loss = rec.train_loss;
      r_.val_loss = val.loss;
      r_.val_accuracy = val.accuracy;
      if (d_.validation.count > 0 && !std::isfinite(val.loss)) {
        r_.status = CandidateStatus::Diverged;
        r_.error = "validation loss became non-finite at epoch " + std::to_string(epoch + 1);
        return;
      }
      if (progress_) {
        ProgressEvent ev;
        ev.kind = ProgressEvent::Kind::Epoch;
        ev.candidate = index_;
        ev.epoch = epoch + 1;
        ev.epochs = o_.epochs;
        ev.step = steps_per_epoch;
        ev.steps = steps_per_epoch;
        ev.train_loss = rec.train_loss;
        ev.val_loss = rec.val_loss;
        ev.val_accuracy = rec.val_accuracy;
        ev.seconds = rec.seconds;
        progress_(ev);
      }
    }
    const Evaluation test = evaluate(net, d_, d_.test, team);
    r_.test_loss = test.loss;
    r_.test_accuracy = test.accuracy;
  }

  int index_;
  const std::vector<NodeSpec>& arch_;
  OptimizerConfig opt_cfg_;
  const TrainData& d_;
  const TrainOptions& o_;
  const std::vector<std::vector<std::int32_t>>& order_;
  Clock::time_point start_;
  const std::atomic<bool>* cancel_;
  const ProgressFn& progress_;
  CandidateResult& r_;
};

}  // namespace

void check_train_inputs(const TrainData& d, const TrainOptions& o) {
  if (o.epochs < 1) bad_argument("epochs must be >= 1 but got " + std::to_string(o.epochs));
  if (o.batch_size < 1) bad_argument("batchSize must be >= 1 but got " + std::to_string(o.batch_size));
  if (!(o.data_fraction > 0.0 && o.data_fraction <= 1.0)) bad_argument("dataFraction must be in (0, 1]");
  if (!(o.optimizer.lr > 0.0f) || !std::isfinite(o.optimizer.lr)) bad_argument("lr must be a positive number");
  if (o.resolution < 0) bad_argument("resolution must be >= 0");
  if (o.threads < 0) bad_argument("threads must be >= 0");
  if (d.input.h < 1 || d.input.w < 1 || d.input.c < 1) bad_argument("input shape must be positive but got " + d.input.str());
  if (d.output_size < 1) bad_argument("outputSize must be >= 1");
  if (d.task == Task::Classification && d.output_size < 2) bad_argument("classification needs at least 2 classes");
  check_split("train", d.train, d, true);
  check_split("validation", d.validation, d, false);
  check_split("test", d.test, d, false);
}

std::vector<CandidateResult> train_candidates(const std::vector<Candidate>& archs, const TrainData& data,
                                              const TrainOptions& options, const std::atomic<bool>* cancel,
                                              const ProgressFn& progress) {
  check_train_inputs(data, options);
  const auto start = Clock::now();
  Prepared prep;
  prepare(data, options, prep);

  // The shared data stream: a seeded subset of the training split, reshuffled every epoch.
  std::vector<std::int32_t> subset(static_cast<size_t>(data.train.count));
  std::iota(subset.begin(), subset.end(), 0);
  if (options.data_fraction < 1.0) {
    Rng rng(derive_seed(options.seed, 0xF4AC));
    for (size_t i = subset.size(); i > 1; --i) std::swap(subset[i - 1], subset[static_cast<size_t>(rng.below(i))]);
    const auto keep = static_cast<size_t>(std::max<double>(1.0, std::ceil(options.data_fraction * static_cast<double>(subset.size()))));
    subset.resize(keep);
    std::sort(subset.begin(), subset.end());
  }
  std::vector<std::vector<std::int32_t>> order(static_cast<size_t>(options.epochs), subset);
  for (int e = 0; e < options.epochs; ++e) {
    Rng rng(derive_seed(options.seed, 0x5EED, static_cast<std::uint64_t>(e)));
    auto& v = order[static_cast<size_t>(e)];
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(rng.below(i))]);
  }

  const int k = static_cast<int>(archs.size());
  std::vector<CandidateResult> results(static_cast<size_t>(k));
  if (k == 0) return results;
  const int threads = options.threads > 0 ? options.threads : hardware_threads();
  const int workers = std::min(k, threads);
  std::atomic<int> next{0};
  auto work = [&](int team_size) {
    std::unique_ptr<Team> team;
    if (team_size > 1) team = std::make_unique<ThreadTeam>(team_size);
    else team = std::make_unique<SerialTeam>();
    for (int i = next.fetch_add(1); i < k; i = next.fetch_add(1)) {
      CandidateRun run(i, archs[static_cast<size_t>(i)], prep.data, options, order, start, cancel, progress,
                       results[static_cast<size_t>(i)]);
      run.run(team.get());
    }
  };
  // With fewer candidates than threads, each candidate gets a team of threads for its kernels.
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) {
    const int team_size = k >= threads ? 1 : threads / k + (w < threads % k ? 1 : 0);
    pool.emplace_back(work, team_size);
  }
  work(k >= threads ? 1 : threads / k + (0 < threads % k ? 1 : 0));
  for (auto& t : pool) t.join();
  return results;
}

void resample_images(const float* x, std::int64_t count, Shape in, int out_h, int out_w, float* out) {
  const auto wy = area_weights(in.h, out_h);
  const auto wx = area_weights(in.w, out_w);
  const int c = in.c;
  for (std::int64_t n = 0; n < count; ++n) {
    const float* src = x + n * in.size();
    float* dst = out + n * static_cast<std::int64_t>(out_h) * out_w * c;
    for (int oy = 0; oy < out_h; ++oy)
      for (int ox = 0; ox < out_w; ++ox) {
        float* o = dst + (static_cast<std::int64_t>(oy) * out_w + ox) * c;
        std::fill_n(o, c, 0.0f);
        for (const auto& [iy, fy] : wy[static_cast<size_t>(oy)])
          for (const auto& [ix, fx] : wx[static_cast<size_t>(ox)]) {
            const float* s = src + (static_cast<std::int64_t>(iy) * in.w + ix) * c;
            const float f = fy * fx;
            for (int ch = 0; ch < c; ++ch) o[ch] += f * s[ch];
          }
      }
  }
}

}  // namespace nasx
