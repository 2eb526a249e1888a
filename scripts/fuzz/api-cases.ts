/**
 * The public functions of lib/index.ts that take user input, called with random and mutated arguments
 * (see cases.ts). Each call must return or throw a clear refusal (verdict.ts). Work sizes that a valid
 * input may legitimately make large (epochs, budgets, seeds of a benchmark, latency repeats) are
 * capped so that a batch stays quick; memory is bounded with `maxMemory` where the API has it.
 * Everything written goes to a temporary directory.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FunctionEvaluator,
  NativeEvaluator,
  Study,
  TabularEvaluator,
  checkTrainOptions,
  createStrategy,
  describeArch,
  exportOnnx,
  fromNb201String,
  getSpace,
  getTabularBenchmark,
  loadDataset,
  loadModel,
  loadSearchSpace,
  lowerArch,
  parseArch,
  parseSearchSpace,
  readTabularTable,
  runBenchmark,
  saveModel,
  strategyNames,
  toNb201String,
  scoreProxies,
  trainCandidates,
  trainModel,
  validateArch,
  validateOnnx,
  type Dataset,
  type OnnxExport,
  type TabularTable,
  type TrainedModel,
} from '../../lib/index.js';
import { encodeModel } from '../../lib/export/model-file.js';
import { createRng } from '../../lib/util/rng.js';
import type { CaseSuite, FuzzCall } from './cases.js';
import { FuzzRng } from './mutate.js';
import { EDGE_NUMBERS, logged, mutateValue, randomString, randomValue, show } from './random-value.js';
import { REPO_ROOT, SEED_CORPUS_DIR } from './supervisor.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

export interface ApiFixtures {
  dir: string;
  data: Dataset;
  model: TrainedModel;
  modelFile: string;
  onnx: OnnxExport;
  bench: TabularEvaluator<unknown>;
  table: TabularTable;
  archs: unknown[];
  spaces: unknown[];
  csvFile: string;
  idx: { trainImages: string; trainLabels: string };
  spaceFile: string;
}

function corpusFiles(target: string): string[] {
  const dir = path.join(SEED_CORPUS_DIR, target);
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

async function setup(): Promise<ApiFixtures> {
  const dir = mkdtempSync(path.join(process.env.NASX_FUZZ_WORKDIR ?? tmpdir(), 'nasx-api-fuzz-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const data = await loadDataset('digits');
  const model = await trainModel({ type: 'mlp', layers: [{ units: 8 }] }, data, { epochs: 1 });
  const modelFile = path.join(dir, 'model.nasx');
  await saveModel(model, modelFile);
  const onnx = await exportOnnx(model);
  const bench = (await getTabularBenchmark('nb201/cifar10')) as TabularEvaluator<unknown>;
  const table = await readTabularTable(path.join(REPO_ROOT, 'data', 'nb201', 'nb201.csv'));
  const csvFile = path.join(dir, 'table.csv');
  const rows = ['f1,f2,f3,label'];
  for (let i = 0; i < 40; i++) rows.push(`${i % 5},${(i * 7) % 3},${i / 10},${i % 3}`);
  writeFileSync(csvFile, `${rows.join('\n')}\n`);
  const idxFile = (dims: number[], values: number[]) => {
    const b = new Uint8Array(4 + 4 * dims.length + values.length);
    b.set([0, 0, 8, dims.length]);
    dims.forEach((d, i) => new DataView(b.buffer).setUint32(4 + 4 * i, d, false));
    b.set(values, 4 + 4 * dims.length);
    return b;
  };
  const idx = { trainImages: path.join(dir, 'images.idx'), trainLabels: path.join(dir, 'labels.idx') };
  writeFileSync(idx.trainImages, idxFile([20, 4, 4], Array.from({ length: 320 }, (_, i) => (i * 13) % 256)));
  writeFileSync(idx.trainLabels, idxFile([20], Array.from({ length: 20 }, (_, i) => i % 2)));
  const spaceFile = path.join(dir, 'space.json');
  const spaces = corpusFiles('json-space').map((t) => JSON.parse(t) as unknown);
  writeFileSync(spaceFile, JSON.stringify(spaces[0]));
  return { dir, data, model, modelFile, onnx, bench, table, archs: corpusFiles('arch').map((t) => JSON.parse(t) as unknown), spaces, csvFile, idx, spaceFile };
}

// ---------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, Any> => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

/** Caps a number at `path` (when it is a number above `max`) and fills `fallback` where it is absent. */
function cap(root: unknown, keys: readonly string[], max: number, fallback?: unknown): void {
  let o: unknown = root;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(o)) return;
    o = o[k];
  }
  if (!isObject(o)) return;
  const last = keys[keys.length - 1]!;
  if (typeof o[last] === 'number' && o[last] > max) o[last] = max;
  if (o[last] === undefined && fallback !== undefined) o[last] = fallback;
}

/**
 * JSON text of a value that may hold what JSON cannot (a BigInt: written as a number; a value whose
 * toJSON throws, such as an object on Date's prototype that is not a Date: the text "undefined").
 */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? 'undefined';
  } catch {
    return 'undefined';
  }
}

/** Sometimes a wholly random value, mostly a mutation of a valid one. */
function variant(rng: FuzzRng, valid: unknown, pRandom = 0.15, label = 'value'): unknown {
  if (rng.chance(pRandom)) return logged(label, randomValue(rng));
  if (rng.chance(0.08)) return valid;
  return mutateValue(rng, valid, {}, label);
}

/** A path inside the fixtures' directory (never elsewhere: the functions under test write there). */
function writablePath(rng: FuzzRng, dir: string, name: string): unknown {
  switch (rng.below(7)) {
    case 0:
      return dir; // a directory
    case 1:
      return path.join(dir, 'missing', name); // a missing directory
    case 2:
      return path.join(dir, randomString(rng).replace(/[/\\\0]/g, '_').slice(0, 40) || 'x');
    case 3:
      return randomValue(rng, { nonJson: true }) as unknown; // not a path at all (a string is made safe below)
    default:
      return path.join(dir, name);
  }
}

function safeWritable(value: unknown, dir: string, name: string): unknown {
  // Random strings would be paths relative to the working directory: keep every write in `dir`.
  return typeof value === 'string' && !value.startsWith(dir) ? path.join(dir, name) : value;
}

const fastEvaluator = () => new FunctionEvaluator((arch: unknown) => (JSON.stringify(arch ?? null).length % 97) / 97, { concurrency: 2 });

const ARCH_FNS = ['parseArch', 'lowerArch', 'validateArch', 'describeArch'] as const;

export const API_SUITE: CaseSuite<ApiFixtures> = {
  name: 'api',
  setup,
  generators: [
    ...ARCH_FNS.map((fn) => ({
      fn,
      make(rng: FuzzRng, fx: ApiFixtures): FuzzCall {
        const arch = variant(rng, rng.pick(fx.archs), 0.15, 'arch');
        switch (fn) {
          case 'parseArch': {
            const text = rng.chance(0.85) ? jsonText(arch) : arch;
            return { fn, args: [text], call: () => parseArch(text as string) };
          }
          case 'lowerArch': {
            const outputSize = rng.chance(0.7) ? 10 : randomValue(rng);
            return { fn, args: [arch, outputSize], call: () => lowerArch(arch, outputSize as number) };
          }
          case 'validateArch':
            return { fn, args: [arch], call: () => validateArch(arch) };
          default: {
            const shape = variant(rng, { inputShape: [8, 8, 1], outputSize: 10 }, 0.1, 'shape');
            return { fn, args: [arch, shape], call: () => describeArch(arch as Any, shape as Any) };
          }
        }
      },
    })),
    {
      fn: 'getSpace',
      make(rng) {
        const name = rng.chance(0.8) ? rng.pick(['mlp', 'cnn', 'nb201']) : randomValue(rng);
        const options = name === 'nb201' ? variant(rng, { channels: 8, cellsPerStage: 1 }, 0.15, 'options') : rng.chance(0.7) ? {} : variant(rng, {}, 0.15, 'options');
        return {
          fn: 'getSpace',
          args: [name, options],
          call: () => {
            const space = getSpace(name as string, options as Any);
            const a = space.sample(createRng(0));
            space.cost(a, { inputShape: [8, 8, 1], outputSize: 10 });
          },
        };
      },
    },
    {
      fn: 'parseSearchSpace',
      make(rng, fx) {
        const value = variant(rng, rng.pick(fx.spaces), 0.15, 'value');
        return {
          fn: 'parseSearchSpace',
          args: [value],
          call: () => {
            const space = parseSearchSpace(value);
            const rngs = createRng(1);
            for (let i = 0; i < 2; i++) space.hash(space.sample(rngs));
          },
        };
      },
    },
    {
      fn: 'loadSearchSpace',
      make(rng, fx) {
        let file: unknown;
        if (rng.chance(0.6)) {
          file = path.join(fx.dir, `space-${rng.u32()}.json`);
          const body = rng.chance(0.8) ? jsonText(mutateValue(rng, rng.pick(fx.spaces), {}, 'space')) : randomString(rng);
          writeFileSync(file as string, body);
        } else file = rng.chance(0.5) ? randomValue(rng) : rng.pick([fx.dir, path.join(fx.dir, 'none.json'), fx.spaceFile]);
        return { fn: 'loadSearchSpace', args: [file], call: () => loadSearchSpace(file as string) };
      },
    },
    {
      fn: 'createStrategy',
      make(rng) {
        const names = strategyNames();
        const name = rng.chance(0.85) ? rng.pick(names) : randomValue(rng);
        const valid: Record<string, unknown> = {
          random: { maxTries: 100 },
          evolution: { population: 4, sampleSize: 2, maxTries: 50 },
          local: { improvement: 'first' },
          reinforce: { lr: 0.2, batch: 2, baselineDecay: 0.9, entropy: 0.01 },
          bo: { acquisition: 'ei', kernel: 'exponential', targets: 'rank' },
          mcts: { selection: 'uct', value: 'surrogate', engine: 'auto' },
        };
        // A random name may be an array holding a Symbol, which cannot be a property key.
        const options = variant(rng, (typeof name === 'string' ? valid[name] : undefined) ?? {}, 0.15, 'options');
        const space = getSpace(rng.pick(['mlp', 'nb201']));
        const context = rng.chance(0.8) ? { space, seed: rng.below(5) } : variant(rng, { space, seed: 1 }, 0.15, 'context');
        const n = rng.chance(0.7) ? 1 + rng.below(4) : rng.chance(0.5) ? rng.pick(EDGE_NUMBERS) : randomValue(rng);
        const tellRandom = rng.chance(0.3);
        const stateSeed = rng.u32();
        return {
          fn: 'createStrategy',
          args: [name, context, options, `ask(${show(n)})`],
          call: () => {
            const s = createStrategy(name as string, context as Any, options as Any);
            const r = new FuzzRng(stateSeed);
            for (let round = 0; round < 3; round++) {
              const asked = s.ask(n as number);
              const obs = asked.map((arch) => ({ arch, hash: space.hash(arch as Any), score: r.float() }));
              s.tell((tellRandom && round === 1 ? mutateValue(r, obs) : obs) as Any);
            }
            const state = s.stateDict();
            const fresh = createStrategy(name as string, context as Any, options as Any);
            fresh.loadStateDict(r.chance(0.7) ? mutateValue(r, JSON.parse(JSON.stringify(state ?? null))) : state);
            fresh.ask(1);
          },
        };
      },
    },
    {
      fn: 'new Study',
      make(rng) {
        const space = getSpace(rng.pick(['mlp', 'nb201']));
        const options = variant(rng, { space, strategy: 'random', evaluator: fastEvaluator(), budget: { evaluations: 3 }, parallel: 2, seed: 1, dedupe: true, fidelity: { epochs: 1 } }, 0.05, 'options');
        cap(options, ['budget', 'evaluations'], 6);
        cap(options, ['budget', 'seconds'], 2);
        cap(options, ['parallel'], 8);
        return {
          fn: 'new Study',
          args: [options],
          timeoutMs: 20_000,
          call: async () => {
            const study = new Study(options as Any);
            await study.run();
          },
        };
      },
    },
    {
      fn: 'new NativeEvaluator',
      make(rng, fx) {
        const options = variant(rng, { dataset: rng.chance(0.5) ? fx.data : 'digits', train: { epochs: 1, batchSize: 64, maxMemory: 2 ** 28 }, latency: false }, 0.15, 'options');
        cap(options, ['train', 'epochs'], 1);
        if (isObject(options) && isObject(options.latency)) {
          cap(options, ['latency', 'repeats'], 5);
          cap(options, ['latency', 'warmup'], 1);
        }
        const evaluate = rng.chance(0.3);
        const candidates = [variant(rng, rng.pick(fx.archs), 0.1, 'candidates')];
        return {
          fn: 'new NativeEvaluator',
          args: evaluate ? [options, candidates] : [options],
          timeoutMs: 60_000,
          call: async () => {
            const e = new NativeEvaluator(options as Any);
            if (evaluate) await e.evaluate(candidates as Any, { epochs: 1, dataFraction: 0.2 });
          },
        };
      },
    },
    {
      fn: 'new TabularEvaluator',
      make(rng, fx) {
        // The table's own columns (their names have changed before): the key, a search column, a test column.
        const search = fx.table.columns.find((c) => /_(search|valid)$/.test(c)) ?? fx.table.columns[2]!;
        const report = fx.table.columns.find((c) => /_test$/.test(c)) ?? fx.table.columns[3]!;
        const options = variant(rng, {
          table: fx.table,
          keyColumn: 'arch',
          keyOf: (arch: Any) => toNb201String(arch),
          archOf: fromNb201String,
          searchMetric: search,
          metrics: { searchAccuracy: search },
          reportMetrics: { testAccuracy: report },
        }, 0.15, 'options');
        const nb201 = getSpace('nb201');
        const candidates = variant(rng, [nb201.sample(createRng(rng.below(100)))], 0.1, 'candidates');
        return {
          fn: 'new TabularEvaluator',
          args: [options, candidates],
          call: async () => {
            const e = new TabularEvaluator(options as Any);
            await e.evaluate(candidates as Any);
          },
        };
      },
    },
    {
      fn: 'new FunctionEvaluator',
      make(rng) {
        const returned = randomValue(rng);
        const fn = rng.chance(0.85) ? () => returned : randomValue(rng);
        const options = variant(rng, { name: 'f', concurrency: 2 }, 0.15, 'options');
        cap(options, ['concurrency'], 64);
        const candidates = variant(rng, [{ a: 1 }, { a: 2 }, { a: 3 }], 0.1, 'candidates');
        const fidelity = rng.chance(0.8) ? { epochs: 1 } : randomValue(rng);
        const evalOptions = rng.chance(0.8) ? {} : randomValue(rng);
        return {
          fn: 'new FunctionEvaluator',
          args: [fn, options, candidates, fidelity, evalOptions],
          call: async () => {
            const e = new FunctionEvaluator(fn as Any, options as Any);
            await e.evaluate(candidates as Any, fidelity as Any, evalOptions as Any);
          },
        };
      },
    },
    {
      fn: 'runBenchmark',
      make(rng, fx) {
        const options = variant(rng, { evaluator: fx.bench, space: getSpace('nb201'), strategies: ['random', 'evolution'], seeds: 2, budget: 6, checkpoints: [2, 4] }, 0.05, 'options');
        cap(options, ['seeds'], 2);
        cap(options, ['budget'], 8);
        if (isObject(options) && Array.isArray(options.strategies) && options.strategies.length > 3) options.strategies = options.strategies.slice(0, 3);
        return { fn: 'runBenchmark', args: [options], timeoutMs: 30_000, call: () => runBenchmark(options as Any) };
      },
    },
    {
      fn: 'checkTrainOptions',
      make(rng) {
        const options = variant(rng, { epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0, warmupFraction: 0.1, seed: 1, threads: 1, dataFraction: 0.5, resolution: 0, keepWeights: false, maxMemory: 2 ** 28 }, 0.15, 'options');
        return { fn: 'checkTrainOptions', args: [options], call: () => checkTrainOptions(options) };
      },
    },
    {
      fn: 'trainCandidates',
      make(rng, fx) {
        const archs = variant(rng, [rng.pick(fx.archs), { type: 'mlp', layers: [{ units: 8 }] }], 0.1, 'archs');
        const dataset = rng.chance(0.6) ? fx.data : variant(rng, rng.chance(0.5) ? 'digits' : { csv: fx.csvFile, task: 'classification' }, 0.2, 'dataset');
        const options = variant(rng, { epochs: 1, batchSize: 64, seed: 0, dataFraction: 0.3, threads: 2, maxMemory: 2 ** 28 }, 0.05, 'options');
        cap(options, ['epochs'], 1);
        cap(options, ['maxMemory'], 2 ** 29, 2 ** 28);
        if (Array.isArray(archs) && archs.length > 3) archs.length = 3;
        return { fn: 'trainCandidates', args: [archs, dataset, options], timeoutMs: 60_000, call: () => trainCandidates(archs as Any, dataset as Any, options as Any) };
      },
    },
    {
      fn: 'scoreProxies',
      make(rng, fx) {
        const archs = variant(rng, [rng.pick(fx.archs), { type: 'mlp', layers: [{ units: 8 }] }], 0.1, 'archs');
        const options = variant(rng, { seed: 0, batchSize: 32, threads: 2, maxMemory: 2 ** 28 }, 0.1, 'options');
        cap(options, ['maxMemory'], 2 ** 29, 2 ** 28);
        if (Array.isArray(archs) && archs.length > 3) archs.length = 3;
        return { fn: 'scoreProxies', args: [archs, fx.data, options], timeoutMs: 60_000, call: () => scoreProxies(archs as Any, fx.data as Any, options as Any) };
      },
    },
    {
      fn: 'loadDataset',
      make(rng, fx) {
        const sources = ['digits', { csv: fx.csvFile, task: 'classification', labelColumn: 'label', header: 'auto', name: 't' }, { idx: { ...fx.idx }, numClasses: 2, scale: 1 / 255 }];
        const source = variant(rng, rng.pick(sources), 0.1, 'source');
        const options = variant(rng, { seed: 1, validationFraction: 0.1, testFraction: 0.2, limit: 500 }, 0.1, 'options');
        // Never download (Fashion-MNIST) or read a random cache directory.
        if (isObject(options)) {
          options.download = false;
          delete options.downloadBaseUrl;
          delete options.cacheDir;
        }
        return { fn: 'loadDataset', args: [source, options], timeoutMs: 20_000, call: () => loadDataset(source as Any, options as Any) };
      },
    },
    {
      fn: 'exportOnnx',
      make(rng, fx) {
        const model = variant(rng, fx.model, 0.05, 'model');
        const options = variant(rng, { opset: 17 }, 0.1, 'options');
        if (isObject(options) && 'out' in options) options.out = safeWritable(options.out, fx.dir, 'model.onnx');
        if (isObject(options) && rng.chance(0.3)) options.out = safeWritable(writablePath(rng, fx.dir, 'model.onnx'), fx.dir, 'model.onnx');
        return { fn: 'exportOnnx', args: [model, options], call: () => exportOnnx(model as Any, options as Any) };
      },
    },
    {
      fn: 'validateOnnx',
      make(rng, fx) {
        const onnx = rng.chance(0.5) ? fx.onnx : variant(rng, fx.onnx, 0.05, 'onnx');
        const data = rng.chance(0.6) ? fx.data : variant(rng, fx.data, 0.05, 'data');
        const options = variant(rng, { split: 'test', maxSamples: 32, tolerance: 1e-4, latency: false }, 0.1, 'options');
        cap(options, ['maxSamples'], 64, 32);
        if (isObject(options)) {
          if (options.latency !== false && !rng.chance(0.1)) options.latency = false;
          cap(options, ['latencyOptions', 'repeats'], 3);
          cap(options, ['latencyOptions', 'warmup'], 1);
        }
        return { fn: 'validateOnnx', args: [onnx, data, options], timeoutMs: 30_000, call: () => validateOnnx(onnx as Any, data as Any, options as Any) };
      },
    },
    {
      fn: 'saveModel',
      make(rng, fx) {
        const model = variant(rng, fx.model, 0.05, 'model');
        const file = safeWritable(writablePath(rng, fx.dir, 'saved.nasx'), fx.dir, 'saved.nasx');
        return { fn: 'saveModel', args: [model, file], call: () => saveModel(model as Any, file as string) };
      },
    },
    {
      fn: 'loadModel',
      make(rng, fx) {
        let file: unknown;
        const r = rng.below(4);
        if (r === 0) file = randomValue(rng);
        else if (r === 1) file = rng.pick([fx.dir, path.join(fx.dir, 'none.nasx'), fx.modelFile]);
        else {
          // A model file whose header was edited (the checksum is recomputed by encodeModel).
          file = path.join(fx.dir, `edited-${rng.u32()}.nasx`);
          let bytes: Uint8Array;
          try {
            bytes = encodeModel(mutateValue(rng, fx.model) as TrainedModel);
          } catch {
            bytes = encodeModel(fx.model).subarray(0, 1 + rng.below(100));
          }
          mkdirSync(fx.dir, { recursive: true });
          writeFileSync(file as string, bytes);
        }
        return {
          fn: 'loadModel',
          args: [file],
          call: async () => {
            const m = await loadModel(file as string);
            await exportOnnx(m);
          },
        };
      },
    },
  ],
};
