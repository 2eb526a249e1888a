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
 * each figure is the median over the rounds, and ratios are given for the medians and for the best
 * rounds (on a busy machine the best round is the least disturbed). samples/s is the engine's
 * definition everywhere:
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
import { cpuDescription } from '../lib/util/machine.js';

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
Environment: NASX_BENCH_PYTHON names the Python that has torch (tried before python3, /usr/bin/python3).
For clean JSON through npm, silence its banner: npm run -s bench:train -- --json`;

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
  /** Mean forward FLOPs per sample of the K candidates over the single candidate's. */
  flopsVsSingle: number;
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
  /** The run with the highest samples/s. */
  best: R;
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
    best: sorted.at(-1)!,
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
    flopsVsSingle: results.reduce((sum, r) => sum + r.flops, 0) / results.length / single.flops,
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

/** GFLOP/s of the GEMM shapes and the FMA peak; each figure takes about `secondsPerFigure`. */
async function gemmFigures(addon: NativeBinding, threadCounts: number[], secondsPerFigure: number) {
  // Each GEMM figure is paired with FMA-peak figures taken right before and after it, three rounds
  // interleaved (peak, GEMM, peak, GEMM, ...), and the best of each kept: a burst of load from other
  // work then falls on both, so a ratio reads the kernel's share of what the cores could do at that
  // time. The run's best peak at each thread count is the denominator for every shape.
  const seconds = secondsPerFigure / 3;
  const peak: Record<number, number> = {};
  const measurePeak = async (t: number) => {
    const g = await addon.fmaPeak(t, seconds);
    peak[t] = Math.max(peak[t] ?? 0, g);
    return g;
  };
  const shapes: GemmFigure[] = [];
  for (const s of GEMM_SHAPES) {
    const byThreads: GemmFigure['byThreads'] = {};
    for (const t of threadCounts) {
      let gflops = 0;
      for (let i = 0; i < 3; i++) {
        await measurePeak(t);
        gflops = Math.max(gflops, await addon.gemmBenchmark(s.m, s.n, s.k, t, s.transA, s.transB, seconds));
      }
      await measurePeak(t);
      byThreads[t] = { gflops, percentOfPeak: 0 };
    }
    shapes.push({ ...s, byThreads });
    progress(
      `GEMM ${s.name} ${s.m}×${s.n}×${s.k}: ` +
        threadCounts.map((t) => `${byThreads[t]!.gflops.toFixed(1)} GFLOP/s (${t} thr)`).join(', '),
    );
  }
  for (const s of shapes) for (const t of threadCounts) s.byThreads[t]!.percentOfPeak = (100 * s.byThreads[t]!.gflops) / peak[t]!;
  return { isa: addon.buildInfo.gemmIsa, cpu: cpuDescription(), peak, shapes };
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

/**
 * The PyTorch peer at each of `threadCounts` (torch.set_num_threads), sharing one copy of the split.
 * One skipped peer stands for all when PyTorch is not found.
 */
async function torchPeers(data: Dataset, threadCounts: number[]): Promise<Peer<TorchRun>[]> {
  const { python, tried } = findTorchPython();
  if (!python) return [{ name: 'PyTorch', skipped: `no Python with torch and numpy found (tried ${tried.join('; ')})` }];
  const dir = await mkdtemp(path.join(tmpdir(), 'nasx-bench-train-'));
  progress(`writing the engine's split for PyTorch to ${dir}`);
  await writeSplit(data, dir);
  return threadCounts.map((threads) => torchPeer(python, dir, threads));
}

function torchPeer(python: string, dir: string, threads: number): Peer<TorchRun> {
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
    name: `PyTorch (${threads} thr)`,
    details: { python, threads, removedFromEnvironment: OPENBLAS_OVERRIDES.filter((v) => v in process.env) },
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

type Peers = {
  single: Peer<Run>;
  batch: Peer<BatchRun>;
  tfjs: Peer<Run>;
  /** PyTorch at the requested thread count. */
  torch: Peer<TorchRun>;
  /** PyTorch at 1 thread, as a control when more were requested (see the notes in the report). */
  torch1?: Peer<TorchRun>;
};
type Ratios = ReturnType<typeof ratiosOf>;

/** The ratios between peers, from their median or their best rounds. */
function ratiosOf(peers: Peers, which: 'median' | 'best') {
  const perSecond = (p: Peer<Run>) => p.summary?.[which].samplesPerSecond ?? null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
  const singleAcc = peers.single.summary?.[which].testAccuracy ?? null;
  const torchAcc = peers.torch.summary?.[which].testAccuracy ?? null;
  const fastestTorch = Math.max(perSecond(peers.torch) ?? -1, peers.torch1 ? (perSecond(peers.torch1) ?? -1) : -1);
  const fastest = fastestTorch > 0 ? fastestTorch : null;
  return {
    singleVsTorch: ratio(perSecond(peers.single), perSecond(peers.torch)),
    batchVsTorch: ratio(perSecond(peers.batch), perSecond(peers.torch)),
    /** Against the faster of PyTorch at N threads and at 1 thread. */
    singleVsFastestTorch: ratio(perSecond(peers.single), fastest),
    batchVsFastestTorch: ratio(perSecond(peers.batch), fastest),
    singleVsTfjs: ratio(perSecond(peers.single), perSecond(peers.tfjs)),
    batchVsSingle: ratio(perSecond(peers.batch), perSecond(peers.single)),
    accuracyPointsVsTorch: singleAcc !== null && torchAcc !== null ? 100 * (singleAcc - torchAcc) : null,
  };
}

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

  const peers: Peers = {
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
      const [atN, at1] = await torchPeers(d, threads > 1 ? [threads, 1] : [threads]);
      peers.torch = atN!;
      if (at1) peers.torch1 = at1;
    }
    for (const p of [peers.tfjs, peers.torch]) if (p.skipped) progress(`${p.name} skipped: ${p.skipped}`);

    const runs = new Map<Peer<Run>, Run[]>();
    try {
      for (let round = 1; round <= repeats; round++) {
        for (const peer of Object.values(peers) as (Peer<Run> | undefined)[]) {
          if (!peer?.run || peer.skipped) continue;
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
      for (const peer of [peers.tfjs, peers.torch, peers.torch1] as (Peer<Run> | undefined)[]) await peer?.dispose?.();
    }
    for (const [peer, rs] of runs) if (!peer.skipped) peer.summary = summarize(rs);
  }

  const threadCounts = threads === 1 ? [1] : [1, threads];
  const gemm = await gemmFigures(addon, threadCounts, quick ? 0.3 : 1.5);

  const ratios = { median: ratiosOf(peers, 'median'), best: ratiosOf(peers, 'best') };
  const nPeak = gemm.peak[threads];
  if (threads > 1 && nPeak !== undefined && nPeak < 0.75 * threads * gemm.peak[1]!) {
    notes.push(
      `The ${threads}-thread FMA peak (${nPeak.toFixed(1)} GFLOP/s) is under 75% of ${threads}× the 1-thread one ` +
        `(${gemm.peak[1]!.toFixed(1)}): other work was using the cores, so the ${threads}-thread figures are disturbed.`,
    );
  }
  const torchRun = peers.torch.summary?.median;
  const torch1Run = peers.torch1?.summary?.median;
  if (torchRun && torch1Run && torch1Run.samplesPerSecond > 1.2 * torchRun.samplesPerSecond) {
    notes.push(
      `PyTorch ran ${(torch1Run.samplesPerSecond / torchRun.samplesPerSecond).toFixed(1)}× faster at 1 thread than at ` +
        `${threads} (its OpenMP threads${torchRun.blasKind === 'openblas' ? ' and OpenBLAS\'s own threads' : ''} ` +
        'oversubscribe the cores, the more so while other work runs). The "fastest PyTorch" ratios use the faster setting.',
    );
  }
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
    torch1Thread: peers.torch1 ? { skipped: peers.torch1.skipped ?? null, ...peers.torch1.details, summary: peers.torch1.summary ?? null } : null,
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
  peers: Peers,
  gemm: Awaited<ReturnType<typeof gemmFigures>>,
  threadCounts: number[],
  ratios: { median: Ratios; best: Ratios },
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
            ? `candidate-samples/s (mix: ${peers.batch.summary!.median.flopsVsSingle.toFixed(2)}× the FLOPs/sample of 1); ` +
                `test acc of the 256-relu one, all ${fmtPct(Math.min(...batchAccs))}–${fmtPct(Math.max(...batchAccs))}`
            : '',
        ),
        describe(
          peers.tfjs,
          tfjsDetails ? `tfjs-wasm ${tfjsDetails.version} (${tfjsDetails.threads} thr)` : 'tfjs-wasm',
          'Adam (no weight decay), constant lr',
        ),
        ...[peers.torch, peers.torch1].filter((p): p is Peer<TorchRun> => p !== undefined).map((p) => {
          const r = p.summary?.median;
          return describe(
            p as Peer<Run>,
            r ? `PyTorch ${r.torchVersion} (${r.threads} thr)` : p.name,
            r ? `AdamW wd 1e-4, ${r.schedule}; BLAS ${r.blasKind}${r.openblasCore ? ` (${r.openblasCore})` : ''}` : '',
          );
        }),
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
  const verdict = (value: number | null, ok: (v: number) => boolean) => (value === null ? '' : ok(value) ? 'met' : 'MISSED');
  const points = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(2)} pt`);
  const { median: m, best: b } = ratios;
  const atLeast = (target: number) => (v: number) => v >= target;
  const within = (v: number) => Math.abs(v) <= TARGETS.accuracyPoints;
  out.push(
    table(
      [
        ['ratio', 'median', 'best', 'target', 'median / best'],
        [`native 1 / PyTorch (${report.config.threads} thr)`, fmtRatio(m.singleVsTorch), fmtRatio(b.singleVsTorch), `≥ ${TARGETS.singleVsTorch}×`,
          `${verdict(m.singleVsTorch, atLeast(TARGETS.singleVsTorch))} / ${verdict(b.singleVsTorch, atLeast(TARGETS.singleVsTorch))}`],
        [`native K=${BATCH.length} / PyTorch (${report.config.threads} thr)`, fmtRatio(m.batchVsTorch), fmtRatio(b.batchVsTorch), `≥ ${TARGETS.batchVsTorch}×`,
          `${verdict(m.batchVsTorch, atLeast(TARGETS.batchVsTorch))} / ${verdict(b.batchVsTorch, atLeast(TARGETS.batchVsTorch))}`],
        ...(peers.torch1
          ? [
              ['native 1 / fastest PyTorch', fmtRatio(m.singleVsFastestTorch), fmtRatio(b.singleVsFastestTorch), `≥ ${TARGETS.singleVsTorch}×`,
                `${verdict(m.singleVsFastestTorch, atLeast(TARGETS.singleVsTorch))} / ${verdict(b.singleVsFastestTorch, atLeast(TARGETS.singleVsTorch))}`],
              [`native K=${BATCH.length} / fastest PyTorch`, fmtRatio(m.batchVsFastestTorch), fmtRatio(b.batchVsFastestTorch), `≥ ${TARGETS.batchVsTorch}×`,
                `${verdict(m.batchVsFastestTorch, atLeast(TARGETS.batchVsTorch))} / ${verdict(b.batchVsFastestTorch, atLeast(TARGETS.batchVsTorch))}`],
            ]
          : []),
        ['native 1 / tfjs-wasm', fmtRatio(m.singleVsTfjs), fmtRatio(b.singleVsTfjs), '', ''],
        [`native K=${BATCH.length} / native 1`, fmtRatio(m.batchVsSingle), fmtRatio(b.batchVsSingle), '', ''],
        ['test acc native − PyTorch', points(m.accuracyPointsVsTorch), points(b.accuracyPointsVsTorch), `within ±${TARGETS.accuracyPoints} pt`,
          `${verdict(m.accuracyPointsVsTorch, within)} / ${verdict(b.accuracyPointsVsTorch, within)}`],
      ].map((r) => r.map((c) => (c === ' / ' ? '' : c))),
      ['l', 'r', 'r', 'l', 'l'],
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
  out.push(`CPU: ${gemm.cpu}.`);
  out.push(`GEMM target: ≥ ${TARGETS.gemmPercentOfPeak}% of the FMA peak (a register-only FMA loop at the same thread count, measured before and after each GEMM figure).`);
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
