/**
 * `npm run bench:train`: training throughput of the native engine on Fashion-MNIST, against
 * TensorFlow.js (wasm backend) and PyTorch measured in the same run, and the GEMM kernel's share of
 * the machine's FMA peak.
 *
 *   npm run bench:train -- [--threads N] [--repeats R] [--json] [--quick] [--skip-torch] [--skip-tfjs]
 *
 * Every peer trains the MLP 784-256-10 (ReLU) for one epoch, batch 128, on the engine's own split of
 * Fashion-MNIST (loadDataset seed 0). The peers run back to back in each round (native, native K=8,
 * tfjs, PyTorch, then again), so that load from other work on the machine falls on all of them;
 * each figure is the median over the rounds. samples/s is the engine's definition everywhere:
 * training samples divided by the wall time of the whole job, validation and test passes included.
 *
 * PyTorch runs in a child process (scripts/bench_train_torch.py) on the same split, written to temp
 * files; the first of $NASX_BENCH_PYTHON, python3 and /usr/bin/python3 that imports torch is used.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { endianness, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Arch } from '../lib/arch/arch.js';
import type { Dataset, Split } from '../lib/data/dataset.js';
import { loadDataset } from '../lib/data/load.js';
import { NasxError, checkInteger } from '../lib/errors.js';
import { native, type NativeBinding } from '../lib/native/binding.js';
import { trainCandidates, type TrainResult } from '../lib/train.js';

/** The hyper-parameters every peer trains with (the engine's defaults, spelled out). */
const HYPER = { epochs: 1, batchSize: 128, lr: 1e-3, weightDecay: 1e-4, warmupFraction: 0.05, seed: 0 } as const;
const HIDDEN = 256;
const SINGLE: Arch = { type: 'mlp', layers: [{ units: HIDDEN, activation: 'relu' }] };
/** K different MLPs trained at once. */
const BATCH: { label: string; arch: Arch }[] = [
  { label: '256 relu', arch: SINGLE },
  { label: '128 relu', arch: { type: 'mlp', layers: [{ units: 128, activation: 'relu' }] } },
  { label: '512 relu', arch: { type: 'mlp', layers: [{ units: 512, activation: 'relu' }] } },
  { label: '256 gelu', arch: { type: 'mlp', layers: [{ units: 256, activation: 'gelu' }] } },
  { label: '256-128 relu', arch: { type: 'mlp', layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }] } },
  { label: '384 tanh', arch: { type: 'mlp', layers: [{ units: 384, activation: 'tanh' }] } },
  { label: '192 relu', arch: { type: 'mlp', layers: [{ units: 192, activation: 'relu' }] } },
  { label: '256 relu+bn', arch: { type: 'mlp', layers: [{ units: 256, activation: 'relu', batchNorm: true }] } },
];
/** GEMM shapes of the MLP's first layer at batch 128 (C is m×n, inner dimension k), and a large square. */
const GEMM_SHAPES = [
  { name: 'forward X·W', m: 128, n: 256, k: 784, transA: false, transB: false },
  { name: 'weight grad Xᵀ·dY', m: 784, n: 256, k: 128, transA: true, transB: false },
  { name: 'input grad dY·Wᵀ (ref.)', m: 128, n: 784, k: 256, transA: false, transB: true },
  { name: 'square 1024', m: 1024, n: 1024, k: 1024, transA: false, transB: false },
] as const;
const TARGETS = { singleVsTorch: 2, batchVsTorch: 5, gemmPercentOfPeak: 70, accuracyPoints: 1 } as const;
/** Environment variables that slow a current OpenBLAS (set on some machines for old builds). */
const OPENBLAS_OVERRIDES = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];
const TORCH_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench_train_torch.py');

const USAGE = `Usage: npm run bench:train -- [options]
  --threads N    threads for every peer (default: all hardware threads)
  --repeats R    rounds of all peers; figures are medians (default 3, 1 with --quick)
  --json         print one JSON object with every figure instead of the table
  --quick        a smoke run: 6000 training samples, short GEMM timings, one round
  --skip-torch   do not run the PyTorch peer
  --skip-tfjs    do not run the TensorFlow.js (wasm) peer
  --help         this text
Environment: NASX_BENCH_PYTHON names the Python that has torch (tried before python3, /usr/bin/python3).`;

interface Options {
  threads: number;
  repeats: number;
  json: boolean;
  quick: boolean;
  skipTorch: boolean;
  skipTfjs: boolean;
}

/** One training run of one peer. */
interface Run {
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  /** Fraction in [0, 1]; null when the run computed none. */
  testAccuracy: number | null;
  valAccuracy: number | null;
  /** Training time alone, where the peer can tell it apart from evaluation. */
  trainSeconds?: number;
}

interface BatchRun extends Run {
  candidates: { label: string; status: string; seconds: number; samplesPerSecond: number; testAccuracy: number | null; error?: string }[];
}

interface TorchRun extends Run {
  torchVersion: string;
  threads: number;
  blas: string[];
  blasKind: string;
  /** OpenBLAS's name of the kernels it chose, when torch uses OpenBLAS. */
  openblasCore: string | null;
  /** Must be empty: the overrides are removed from the child's environment. */
  openblasOverridesSet: string[];
  schedule: string;
  python: string;
}

interface Summary<R extends Run> {
  /** The run with the median samples/s (the lower middle for an even count). */
  median: R;
  min: number;
  max: number;
  runs: R[];
}

interface Peer<R extends Run> {
  name: string;
  /** Why it did not run (absent when it ran). */
  skipped?: string;
  summary?: Summary<R>;
  /** Set up once before the rounds; released after them. */
  dispose?: () => Promise<void> | void;
  run?: () => Promise<R>;
  details?: Record<string, unknown>;
}

const started = performance.now();
function progress(message: string): void {
  const t = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${t}s] ${message}\n`);
}

function parseOptions(argv: string[], hardwareThreads: number): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      threads: { type: 'string' },
      repeats: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'skip-torch': { type: 'boolean', default: false },
      'skip-tfjs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const integer = (name: string, text: string | undefined, fallback: number, max: number): number =>
    text === undefined ? fallback : checkInteger(name, /^\d+$/.test(text) ? Number(text) : text, 1, max);
  return {
    threads: integer('--threads', values.threads, hardwareThreads, 1024),
    repeats: integer('--repeats', values.repeats, values.quick ? 1 : 3, 100),
    json: values.json,
    quick: values.quick,
    skipTorch: values['skip-torch'],
    skipTfjs: values['skip-tfjs'],
  };
}

function summarize<R extends Run>(runs: R[]): Summary<R> {
  const sorted = [...runs].sort((a, b) => a.samplesPerSecond - b.samplesPerSecond);
  return {
    median: sorted[Math.floor((sorted.length - 1) / 2)]!,
    min: sorted[0]!.samplesPerSecond,
    max: sorted.at(-1)!.samplesPerSecond,
    runs,
  };
}

const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
const fmtPct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(2)}%`);
const fmtRatio = (x: number | null): string => (x === null ? '—' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);

// --- native ---------------------------------------------------------------------------------------

async function nativeSingle(data: Dataset, threads: number): Promise<Run> {
  const [r] = await trainCandidates([SINGLE], data, { ...HYPER, threads });
  return runOf(r!);
}

function runOf(r: TrainResult): Run {
  if (r.status !== 'ok') throw new Error(`native training ended with status ${r.status}: ${r.error ?? 'no message'}`);
  return {
    samples: r.samplesPerSecond * r.seconds,
    seconds: r.seconds,
    samplesPerSecond: r.samplesPerSecond,
    testAccuracy: r.metrics.testAccuracy,
    valAccuracy: r.metrics.valAccuracy,
  };
}

async function nativeBatch(data: Dataset, threads: number): Promise<BatchRun> {
  const results = await trainCandidates(
    BATCH.map((b) => b.arch),
    data,
    { ...HYPER, threads },
  );
  // Wall time of the batch is the slowest candidate's (each one's seconds count from the batch's start).
  const seconds = Math.max(...results.map((r) => r.seconds));
  const samples = results.reduce((sum, r) => sum + r.samplesPerSecond * r.seconds, 0);
  const candidates = results.map((r, i) => ({
    label: BATCH[i]!.label,
    status: r.status,
    seconds: r.seconds,
    samplesPerSecond: r.samplesPerSecond,
    testAccuracy: r.metrics.testAccuracy,
    ...(r.error === undefined ? {} : { error: r.error }),
  }));
  const single = results[0]!;
  return {
    samples,
    seconds,
    samplesPerSecond: samples / seconds,
    testAccuracy: single.metrics.testAccuracy,
    valAccuracy: single.metrics.valAccuracy,
    candidates,
  };
}

interface GemmFigure {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** GFLOP/s and percentage of the FMA peak at the same thread count, by thread count. */
  byThreads: Record<number, { gflops: number; percentOfPeak: number }>;
}

async function gemmFigures(addon: NativeBinding, threadCounts: number[], seconds: number) {
  // The peak is measured before and after the GEMMs and the higher kept, so that a burst of load
  // from other work during one measurement does not flatter the percentages.
  const peak: Record<number, number> = {};
  const measurePeak = async () => {
    for (const t of threadCounts) peak[t] = Math.max(peak[t] ?? 0, await addon.fmaPeak(t, seconds));
  };
  progress(`FMA peak (${threadCounts.join(' and ')} threads)`);
  await measurePeak();
  const shapes: GemmFigure[] = [];
  for (const s of GEMM_SHAPES) {
    const byThreads: GemmFigure['byThreads'] = {};
    for (const t of threadCounts) {
      byThreads[t] = { gflops: await addon.gemmBenchmark(s.m, s.n, s.k, t, s.transA, s.transB, seconds), percentOfPeak: 0 };
    }
    shapes.push({ ...s, byThreads });
    progress(
      `GEMM ${s.name} ${s.m}×${s.n}×${s.k}: ` +
        threadCounts.map((t) => `${byThreads[t]!.gflops.toFixed(1)} GFLOP/s (${t} thr)`).join(', '),
    );
  }
  await measurePeak();
  for (const s of shapes) for (const t of threadCounts) s.byThreads[t]!.percentOfPeak = (100 * s.byThreads[t]!.gflops) / peak[t]!;
  return { isa: addon.buildInfo.gemmIsa, peak, shapes };
}

// --- TensorFlow.js (wasm) --------------------------------------------------------------------------

async function tfjsPeer(data: Dataset, threads: number): Promise<Peer<Run>> {
  const name = 'tfjs-wasm';
  let tf: typeof import('@tensorflow/tfjs');
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    tf = await import('@tensorflow/tfjs');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return { name, skipped: `@tensorflow/tfjs or @tensorflow/tfjs-backend-wasm is not installed (${(err as Error).message.split('\n')[0]}); run npm install` };
  }
  // setThreadsCount only takes effect before the backend starts; under Node the backend reports no
  // multithreading support (WASM_HAS_MULTITHREAD_SUPPORT is false), so it stays single-threaded.
  wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) return { name, skipped: 'the tfjs wasm backend failed to initialise' };
  await tf.ready();
  const wasmThreads = wasm.getThreadsCount();
  const [h, w, c] = data.inputShape;
  const features = h * w * c;
  const tensors = (s: Split) => ({
    x: tf.tensor2d(s.x, [s.count, features]),
    y: tf.tensor1d(Float32Array.from(s.y), 'float32'),
    labels: s.y,
  });
  const train = tensors(data.train);
  const validation = data.validation.count > 0 ? tensors(data.validation) : undefined;
  const test = data.test.count > 0 ? tensors(data.test) : undefined;

  const accuracy = (model: import('@tensorflow/tfjs').Sequential, split: ReturnType<typeof tensors> | undefined) => {
    if (!split) return null;
    const predicted = tf.tidy(() => (model.predict(split.x, { batchSize: HYPER.batchSize }) as import('@tensorflow/tfjs').Tensor).argMax(-1));
    const classes = predicted.dataSync();
    predicted.dispose();
    let correct = 0;
    for (let i = 0; i < classes.length; i++) if (classes[i] === split.labels[i]) correct++;
    return correct / classes.length;
  };

  return {
    name,
    details: {
      version: tf.version.tfjs,
      threadsRequested: threads,
      threads: wasmThreads,
      simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
      multithreadSupport: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
      optimizer: `Adam lr ${HYPER.lr}, constant (tfjs has no AdamW, so no weight decay)`,
    },
    async run() {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [features], units: HIDDEN, activation: 'relu', kernelInitializer: 'heUniform', biasInitializer: 'zeros' }),
          tf.layers.dense({ units: data.outputSize, activation: 'softmax', kernelInitializer: 'heUniform', biasInitializer: 'zeros' }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(HYPER.lr), loss: 'sparseCategoricalCrossentropy' });
      const start = performance.now();
      await model.fit(train.x, train.y, { batchSize: HYPER.batchSize, epochs: HYPER.epochs, shuffle: true, verbose: 0 });
      const trainSeconds = (performance.now() - start) / 1000;
      const valAccuracy = accuracy(model, validation);
      const testAccuracy = accuracy(model, test);
      const seconds = (performance.now() - start) / 1000;
      model.dispose();
      const samples = data.train.count * HYPER.epochs;
      return { samples, seconds, samplesPerSecond: samples / seconds, trainSeconds, testAccuracy, valAccuracy };
    },
    dispose() {
      for (const s of [train, validation, test]) {
        s?.x.dispose();
        s?.y.dispose();
      }
    },
  };
}

// --- PyTorch ---------------------------------------------------------------------------------------

/** The environment of the PyTorch child: ours without the OpenBLAS overrides (they halve its speed). */
function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of OPENBLAS_OVERRIDES) delete env[name];
  return env;
}

function findTorchPython(): { python?: string; tried: string[] } {
  const candidates = [process.env.NASX_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (p, i, all): p is string => !!p && all.indexOf(p) === i,
  );
  const tried: string[] = [];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch, numpy'], { env: torchEnv(), encoding: 'utf8', timeout: 120_000 });
    if (probe.status === 0) return { python, tried };
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').at(-1) ?? `exit code ${probe.status}`);
    tried.push(`${python}: ${why}`);
  }
  return { tried };
}

/** Writes the engine's split as raw little-endian files plus meta.json, for the Python peer. */
async function writeSplit(data: Dataset, dir: string): Promise<void> {
  if (endianness() !== 'LE') throw new Error('the PyTorch data files are written little-endian; this machine is big-endian');
  const [h, w, c] = data.inputShape;
  const splits = { train: data.train, validation: data.validation, test: data.test };
  const meta = { features: h * w * c, classes: data.outputSize, splits: {} as Record<string, { count: number }> };
  for (const [name, s] of Object.entries(splits)) {
    meta.splits[name] = { count: s.count };
    if (s.count === 0) continue;
    await writeFile(path.join(dir, `${name}_x.f32`), new Uint8Array(s.x.buffer, s.x.byteOffset, s.x.byteLength));
    await writeFile(path.join(dir, `${name}_y.i32`), new Uint8Array(s.y.buffer, s.y.byteOffset, s.y.byteLength));
  }
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify(meta));
}

async function torchPeer(data: Dataset, threads: number): Promise<Peer<TorchRun>> {
  const name = 'PyTorch';
  const { python, tried } = findTorchPython();
  if (!python) return { name, skipped: `no Python with torch and numpy found (tried ${tried.join('; ')})` };
  const dir = await mkdtemp(path.join(tmpdir(), 'nasx-bench-train-'));
  progress(`writing the engine's split for PyTorch to ${dir}`);
  await writeSplit(data, dir);
  const args = [
    TORCH_SCRIPT,
    '--data-dir', dir,
    '--threads', String(threads),
    '--epochs', String(HYPER.epochs),
    '--batch-size', String(HYPER.batchSize),
    '--hidden', String(HIDDEN),
    '--lr', String(HYPER.lr),
    '--weight-decay', String(HYPER.weightDecay),
    '--warmup-fraction', String(HYPER.warmupFraction),
    '--schedule', 'cosine',
    '--seed', String(HYPER.seed),
  ];
  return {
    name,
    details: { python, removedFromEnvironment: OPENBLAS_OVERRIDES.filter((v) => v in process.env) },
    async run() {
      const child = spawn(python, args, { env: torchEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderrTail = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderrTail = (stderrTail + chunk).slice(-4000);
        for (const line of chunk.split('\n')) if (line.startsWith('[torch] ')) progress(line);
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', resolve);
      });
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        throw new Error(`${python} ${path.basename(TORCH_SCRIPT)} exited with code ${code}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      }
      const r = JSON.parse(last) as TorchRun;
      return { ...r, python };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

// --- report ----------------------------------------------------------------------------------------

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

async function main(): Promise<void> {
  let addon: NativeBinding;
  try {
    addon = native();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  let options: Options | undefined;
  try {
    options = parseOptions(process.argv.slice(2), addon.buildInfo.hardwareThreads);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { threads, repeats, quick } = options;
  const notes: string[] = [];

  progress(`loading Fashion-MNIST (the engine's split, seed ${HYPER.seed}${quick ? ', 6000 training samples' : ''})`);
  let data: Dataset | undefined;
  try {
    data = await loadDataset('fashion-mnist', { seed: HYPER.seed, download: false, ...(quick ? { limit: 6000 } : {}) });
  } catch (err) {
    if (!(err instanceof NasxError && err.code === 'ERR_NASX_DATA_NOT_FOUND')) throw err;
    notes.push(`Training figures skipped: ${err.message}`);
    process.stderr.write(`${err.message}\nOnly the GEMM figures will be measured.\n`);
    process.exitCode = 1;
  }

  const peers: { single: Peer<Run>; batch: Peer<BatchRun>; tfjs: Peer<Run>; torch: Peer<TorchRun> } = {
    single: { name: 'native, 1 candidate' },
    batch: { name: `native, K=${BATCH.length} at once` },
    tfjs: { name: 'tfjs-wasm', skipped: options.skipTfjs ? '--skip-tfjs' : undefined },
    torch: { name: 'PyTorch', skipped: options.skipTorch ? '--skip-torch' : undefined },
  };
  if (data) {
    const d = data;
    progress(`${d.train.count} training / ${d.validation.count} validation / ${d.test.count} test samples; ${threads} threads, ${repeats} round(s)`);
    peers.single.run = () => nativeSingle(d, threads);
    peers.batch.run = () => nativeBatch(d, threads);
    if (!peers.tfjs.skipped) {
      progress('starting the tfjs wasm backend');
      peers.tfjs = await tfjsPeer(d, threads);
    }
    if (!peers.torch.skipped) {
      progress('looking for PyTorch');
      peers.torch = await torchPeer(d, threads);
    }
    for (const p of [peers.tfjs, peers.torch]) if (p.skipped) progress(`${p.name} skipped: ${p.skipped}`);

    const runs = new Map<Peer<Run>, Run[]>();
    try {
      for (let round = 1; round <= repeats; round++) {
        for (const peer of Object.values(peers) as Peer<Run>[]) {
          if (!peer.run || peer.skipped) continue;
          progress(`round ${round}/${repeats}: ${peer.name}…`);
          let r: Run;
          try {
            r = await peer.run();
          } catch (err) {
            peer.skipped = `failed: ${(err as Error).message}`;
            progress(`${peer.name} ${peer.skipped}`);
            continue;
          }
          runs.set(peer, [...(runs.get(peer) ?? []), r]);
          progress(`  ${fmtInt(r.samplesPerSecond)} samples/s in ${r.seconds.toFixed(2)} s, test accuracy ${fmtPct(r.testAccuracy)}`);
        }
      }
    } finally {
      for (const peer of [peers.tfjs, peers.torch] as Peer<Run>[]) await peer.dispose?.();
    }
    for (const [peer, rs] of runs) if (!peer.skipped) peer.summary = summarize(rs);
  }

  const threadCounts = threads === 1 ? [1] : [1, threads];
  const gemm = await gemmFigures(addon, threadCounts, quick ? 0.2 : 1.0);

  const perSecond = (p: Peer<Run>) => p.summary?.median.samplesPerSecond ?? null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
  const singleAcc = peers.single.summary?.median.testAccuracy ?? null;
  const torchAcc = peers.torch.summary?.median.testAccuracy ?? null;
  const ratios = {
    singleVsTorch: ratio(perSecond(peers.single), perSecond(peers.torch)),
    batchVsTorch: ratio(perSecond(peers.batch), perSecond(peers.torch)),
    singleVsTfjs: ratio(perSecond(peers.single), perSecond(peers.tfjs)),
    batchVsSingle: ratio(perSecond(peers.batch), perSecond(peers.single)),
    accuracyPointsVsTorch: singleAcc !== null && torchAcc !== null ? 100 * (singleAcc - torchAcc) : null,
  };
  const torchRun = peers.torch.summary?.median;
  if (torchRun?.blasKind.startsWith('reference')) {
    notes.push(
      `PyTorch ${torchRun.torchVersion} runs its matrix products on the reference (netlib) BLAS ` +
        `(${torchRun.blas.join(', ')}): single-threaded and unblocked, so it is a weak peer here. ` +
        'Point LD_LIBRARY_PATH at an optimised libblas.so.3 (e.g. OpenBLAS) for a stronger one.',
    );
  }
  if (peers.tfjs.details && peers.tfjs.details.threads !== threads) {
    notes.push(
      `tfjs-wasm ran ${peers.tfjs.details.threads} thread(s) of ${threads} requested: its threaded build needs ` +
        'WASM_HAS_MULTITHREAD_SUPPORT, which is false under Node.',
    );
  }
  for (const c of peers.batch.summary?.median.candidates ?? []) {
    if (c.status !== 'ok') notes.push(`K=${BATCH.length} candidate ${c.label} ended ${c.status}: ${c.error ?? ''}`);
  }

  const report = {
    config: {
      model: `MLP 784-${HIDDEN}-10 (ReLU)`,
      dataset: 'fashion-mnist',
      split: data ? { train: data.train.count, validation: data.validation.count, test: data.test.count, seed: HYPER.seed } : null,
      ...HYPER,
      optimizer: 'adamw',
      schedule: `linear warm-up over ${HYPER.warmupFraction * 100}% of steps, then cosine`,
      threads,
      repeats,
      quick,
      gemmIsa: addon.buildInfo.gemmIsa,
      hardwareThreads: addon.buildInfo.hardwareThreads,
      samplesPerSecond: 'training samples / wall time of the whole job (validation and test passes included)',
    },
    native: { single: peers.single.summary ?? null, batch: peers.batch.summary ?? null, batchLabels: BATCH.map((b) => b.label) },
    tfjs: { skipped: peers.tfjs.skipped ?? null, ...peers.tfjs.details, summary: peers.tfjs.summary ?? null },
    torch: { skipped: peers.torch.skipped ?? null, ...peers.torch.details, summary: peers.torch.summary ?? null },
    ratios,
    targets: TARGETS,
    gemm,
    notes,
  };

  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  process.stdout.write(renderReport(report, peers, gemm, threadCounts, ratios));
}

function renderReport(
  report: { config: { split: { train: number; validation: number; test: number } | null; threads: number; repeats: number }; notes: string[] },
  peers: { single: Peer<Run>; batch: Peer<BatchRun>; tfjs: Peer<Run>; torch: Peer<TorchRun> },
  gemm: Awaited<ReturnType<typeof gemmFigures>>,
  threadCounts: number[],
  ratios: { singleVsTorch: number | null; batchVsTorch: number | null; singleVsTfjs: number | null; batchVsSingle: number | null; accuracyPointsVsTorch: number | null },
): string {
  const { config } = report;
  const out: string[] = [];
  const split = config.split ? `${config.split.train} train / ${config.split.validation} val / ${config.split.test} test` : 'no data';
  out.push(
    '',
    `nasx bench:train — MLP 784-${HIDDEN}-10 (ReLU), Fashion-MNIST (${split}), batch ${HYPER.batchSize}, ` +
      `${HYPER.epochs} epoch, ${config.threads} threads, median of ${config.repeats} round(s)`,
    '',
  );
  const tfjsDetails = peers.tfjs.details as { version?: string; threads?: number } | undefined;
  const torchRun = peers.torch.summary?.median;
  const describe = (p: Peer<Run>, label: string, notesText: string) => {
    if (p.skipped || !p.summary) return [label, '—', '—', '—', `skipped: ${p.skipped ?? 'no data'}`];
    const s = p.summary;
    return [label, fmtInt(s.median.samplesPerSecond), `${fmtInt(s.min)}–${fmtInt(s.max)}`, fmtPct(s.median.testAccuracy), notesText];
  };
  const batchAccs = (peers.batch.summary?.median.candidates ?? []).map((c) => c.testAccuracy ?? 0);
  out.push(
    table(
      [
        ['training, 1 epoch', 'samples/s', 'range', 'test acc', 'notes'],
        describe(peers.single, 'native, 1 candidate', 'AdamW wd 1e-4, warm-up + cosine'),
        describe(
          peers.batch,
          `native, K=${BATCH.length} at once`,
          batchAccs.length
            ? `candidate-samples/s; test acc of the 256-relu one; all: ${fmtPct(Math.min(...batchAccs))}–${fmtPct(Math.max(...batchAccs))}`
            : '',
        ),
        describe(
          peers.tfjs,
          `tfjs-wasm ${tfjsDetails?.version ?? ''} (${tfjsDetails?.threads ?? '?'} thr)`.replace('  ', ' '),
          'Adam (no weight decay), constant lr',
        ),
        describe(
          peers.torch as Peer<Run>,
          torchRun ? `PyTorch ${torchRun.torchVersion} (${torchRun.threads} thr)` : 'PyTorch',
          torchRun ? `AdamW wd 1e-4, ${torchRun.schedule}; BLAS ${torchRun.blasKind}${torchRun.openblasCore ? ` (${torchRun.openblasCore})` : ''}` : '',
        ),
      ],
      ['l', 'r', 'r', 'r', 'l'],
    ),
    '',
  );
  const candidates = peers.batch.summary?.median.candidates;
  if (candidates) {
    out.push(
      table(
        [
          [`K=${BATCH.length} candidates (median round)`, 'seconds', 'samples/s', 'test acc', 'status'],
          ...candidates.map((c) => [c.label, c.seconds.toFixed(2), fmtInt(c.samplesPerSecond), fmtPct(c.testAccuracy), c.status]),
        ],
        ['l', 'r', 'r', 'r', 'l'],
      ),
      '',
    );
  }
  const verdict = (ok: boolean | null) => (ok === null ? '' : ok ? 'met' : 'MISSED');
  const acc = ratios.accuracyPointsVsTorch;
  out.push(
    table(
      [
        ['ratio', 'value', 'target', ''],
        ['native 1 / PyTorch', fmtRatio(ratios.singleVsTorch), `≥ ${TARGETS.singleVsTorch}×`, verdict(ratios.singleVsTorch === null ? null : ratios.singleVsTorch >= TARGETS.singleVsTorch)],
        [`native K=${BATCH.length} / PyTorch 1`, fmtRatio(ratios.batchVsTorch), `≥ ${TARGETS.batchVsTorch}×`, verdict(ratios.batchVsTorch === null ? null : ratios.batchVsTorch >= TARGETS.batchVsTorch)],
        ['native 1 / tfjs-wasm', fmtRatio(ratios.singleVsTfjs), '', ''],
        [`native K=${BATCH.length} / native 1`, fmtRatio(ratios.batchVsSingle), '', ''],
        [
          'test acc native − PyTorch',
          acc === null ? '—' : `${acc >= 0 ? '+' : ''}${acc.toFixed(2)} pt`,
          `within ±${TARGETS.accuracyPoints} pt`,
          verdict(acc === null ? null : Math.abs(acc) <= TARGETS.accuracyPoints),
        ],
      ],
      ['l', 'r', 'l', 'l'],
    ),
    '',
  );
  const header = ['GEMM (' + gemm.isa + ')', 'm×n×k', 'op'];
  for (const t of threadCounts) header.push(`${t} thr GFLOP/s`, '% peak');
  const rows = [header, ['FMA peak', '', '', ...threadCounts.flatMap((t) => [gemm.peak[t]!.toFixed(1), '100%'])]];
  for (const s of gemm.shapes) {
    rows.push([
      s.name,
      `${s.m}×${s.n}×${s.k}`,
      `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}`,
      ...threadCounts.flatMap((t) => {
        const f = s.byThreads[t]!;
        return [f.gflops.toFixed(1), `${f.percentOfPeak.toFixed(0)}%`];
      }),
    ]);
  }
  out.push(table(rows, ['l', 'r', 'l', ...threadCounts.flatMap(() => ['r', 'r'] as const)]), '');
  out.push(`GEMM target: ≥ ${TARGETS.gemmPercentOfPeak}% of the FMA peak (a register-only FMA loop at the same thread count).`);
  out.push('samples/s = training samples / wall time of the whole job, validation and test passes included.');
  for (const n of report.notes) out.push(`Note: ${n}`);
  return `${out.join('\n')}\n`;
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench:train failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
