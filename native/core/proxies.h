// Zero-cost proxies: scores of an untrained network, measured on one minibatch at initialisation (no
// optimizer, no training), that rank architectures before any is trained. Batched over candidates on
// the engine's workers, seeded and deterministic (independent of the thread count).
//
//   grad_norm  Σ over weight tensors of ‖∂L/∂W‖₂ (Abdelfattah et al., 2021)
//   snip       Σ |W ⊙ ∂L/∂W| over weight tensors (Lee et al., 2019)
//   fisher     Σ over activations and channels of ½·mean over samples of (Σ_positions a·∂L/∂a)²
//              (Turner et al., 2020)
//   synflow    Σ |W| ⊙ ∂R/∂|W| with every parameter replaced by its magnitude, an all-ones input of
//              one sample, batch norm in inference mode at its initial statistics, R = Σ outputs
//              (Tanaka et al., 2020)
//   jacov      −Σᵢ (log(λᵢ + k) + 1/(λᵢ + k)), k = 1e-5, over the eigenvalues of the correlation matrix
//              of the samples' input Jacobians of Σ outputs (Mellor et al., 2020, v1)
//   naswot     log |det K|, K = Σ over activation layers of the samples' agreement counts of their
//              activation patterns (input > 0) (Mellor et al., 2021)
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "trainer.h"

namespace nasx {

struct ProxyOptions {
  int batch_size = 64;           // samples of the one minibatch (the first of a seeded shuffle)
  std::uint64_t seed = 0;        // initialisation (as training's) and the minibatch
  int threads = 0;               // 0: every hardware thread
  std::int64_t max_memory = 0;   // as TrainOptions::max_memory
};

class Network;
class Backend;
class Team;

// One minibatch to score a network on (labels for classification, targets for regression).
struct ProxyBatch {
  const float* x;
  const std::int32_t* labels;
  const float* targets;
  int count;
  Task task;
};

struct ProxyScores {
  double grad_norm = 0, snip = 0, fisher = 0, synflow = 0, jacov = 0, naswot = 0;  // NaN when not finite
};

struct ProxyResult {
  CandidateStatus status = CandidateStatus::Ok;
  std::string error;
  std::int64_t params = 0, flops = 0, memory_bytes = 0;
  ProxyScores scores;
  double seconds = 0;
};

// The proxies of `net` as it is (its parameters restored afterwards; its batch-norm statistics and
// gradients are used up), on `batch` (at most the network's max batch); `seed` drives dropout.
ProxyScores network_proxies(Network& net, const ProxyBatch& batch, std::uint64_t seed, Team* team, Backend& backend);

// Scores every candidate (invalid, oom and failed candidates keep their status and NaN scores).
// Throws CoreError("invalid_argument", ...) for bad options or data.
std::vector<ProxyResult> score_proxies(const std::vector<Candidate>& candidates, const TrainData& data,
                                       const ProxyOptions& options, const std::atomic<bool>* cancel);

// Eigenvalues of a symmetric n×n matrix (row-major), ascending: Householder tridiagonalisation, then QL.
std::vector<double> symmetric_eigenvalues(std::vector<double> a, int n);

// log |det A| of an n×n matrix by LU with partial pivoting; -infinity when singular.
double log_abs_determinant(std::vector<double> a, int n);

}  // namespace nasx
