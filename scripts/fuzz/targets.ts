/**
 * The fuzz targets: each turns bytes into a call of the library's parsers (and what a user does next
 * with what they return) and either returns or throws. The verdict rule (scripts/fuzz/verdict.ts)
 * decides whether what it threw is a correct refusal; `check` failures inside a target (a documented
 * contract broken on an accepted input) are findings too.
 */
import { isDeepStrictEqual } from 'node:util';
import { crc32 } from 'node:zlib';
import { parseArch, lowerArch, validateArch } from '../../lib/arch/arch.js';
import { describeArch } from '../../lib/arch/describe.js';
import { parseCsv, type ParseCsvOptions } from '../../lib/data/csv.js';
import { parseIdx } from '../../lib/data/idx.js';
import { splitDataset } from '../../lib/data/split.js';
import { decodeModel } from '../../lib/export/model-file.js';
import { buildOnnx } from '../../lib/export/onnx.js';
import { parseSearchSpace } from '../../lib/space/json-space.js';
import { createRng } from '../../lib/util/rng.js';
import type { VerdictOptions } from './verdict.js';

export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Seed corpus directory under test/fuzz/corpus/ (default: the name). */
  readonly corpus?: string;
  /** Longest input the mutator makes. */
  readonly maxLength: number;
  /** Dictionary tokens for this target. */
  readonly tokens: readonly (string | Uint8Array)[];
  readonly verdict: VerdictOptions;
  /** Runs one input; throws to refuse it. A `ContractViolation` is always a finding. */
  run(bytes: Uint8Array): void;
}

/** A documented property of an accepted input that does not hold: always a finding. */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractViolation(message);
}

const decoder = new TextDecoder('utf-8');
const text = (bytes: Uint8Array) => decoder.decode(bytes);
const u32be = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** The first error a list of steps throws, after every step ran (so one input covers all of them). */
function runAll(steps: (() => void)[]): void {
  let first: unknown;
  let failed = false;
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      if (err instanceof ContractViolation) throw err;
      if (!failed) {
        failed = true;
        first = err;
      }
    }
  }
  if (failed) throw first;
}

// ---------------------------------------------------------------------------------------------------

const idx: FuzzTarget = {
  name: 'idx',
  description: 'parseIdx (lib/data/idx.ts) on the bytes',
  maxLength: 4096,
  tokens: [
    Uint8Array.of(0, 0, 8, 1), Uint8Array.of(0, 0, 8, 3), Uint8Array.of(0, 0, 8, 4), Uint8Array.of(0, 0, 8, 0),
    Uint8Array.of(0, 0, 8, 255), Uint8Array.of(0, 0, 9, 3), Uint8Array.of(0, 0, 0x0d, 3), Uint8Array.of(0x1f, 0x8b),
    u32be(0), u32be(1), u32be(28), u32be(60000), u32be(0x7fffffff), u32be(0x80000000), u32be(0xffffffff), u32be(4_000_000_000),
  ],
  verdict: {},
  run(bytes) {
    const { dims, data } = parseIdx(bytes);
    const elements = dims.reduce((a, b) => a * b, 1);
    check(Array.isArray(dims) && dims.length === bytes[3], `dims has ${dims.length} entries but the header declares ${bytes[3]}`);
    check(data.length === elements, `data holds ${data.length} values but dims ${dims.join('x')} need ${elements}`);
  },
};

/** Option sets every CSV input is parsed with: the defaults and what `nasx --dataset file.csv --task/--label` pass. */
const CSV_OPTIONS: ParseCsvOptions[] = [
  {},
  { task: 'regression' },
  { header: false, labelColumn: 0 },
  { header: true, labelColumn: -1, numClasses: 3 },
  { delimiter: ';', classNames: ['a', 'b', '0', '1'] },
  { delimiter: '\t', task: 'regression', labelColumn: [0, -1] },
];

const csv: FuzzTarget = {
  name: 'csv',
  description: 'parseCsv (lib/data/csv.ts) with six option sets, then splitDataset as loadDataset does',
  maxLength: 8192,
  tokens: ['"', '""', '"a,b"', '"\n"', ',,', ';', '\t', '\r', '\r\n', '\n\n', 'label', 'x,y', 'a,b,c\n', '1,2,3\n', ' 1 ', '1e400', '-0', '0x1f', '9007199254740993', '2147483648', '1e9'],
  verdict: {},
  run(bytes) {
    const input = text(bytes);
    runAll(
      CSV_OPTIONS.map((options) => () => {
        const table = parseCsv(input, options);
        const featureCount = table.featureNames.length;
        check(table.features.length === table.count * featureCount, `features has ${table.features.length} values for ${table.count} rows of ${featureCount}`);
        if (table.task === 'classification') {
          check(table.classNames !== undefined && table.classNames.length === table.outputSize, 'classNames do not match outputSize');
          for (const y of table.labels) check(Number.isInteger(y) && y >= 0 && y < table.outputSize, `label ${y} outside [0, ${table.outputSize})`);
        }
        splitDataset({
          name: 'fuzz.csv',
          task: table.task,
          inputShape: [1, 1, featureCount],
          outputSize: table.outputSize,
          ...(table.classNames === undefined ? {} : { classNames: table.classNames }),
          scale: 1,
          train: { x: table.features, y: table.labels, count: table.count },
        });
      }),
    );
  },
};

// ---------------------------------------------------------------------------------------------------
// Model files

const SIGNATURE = new TextEncoder().encode('NASXMODL');

/** The bytes with the trailing CRC-32 recomputed, so that mutations reach the header checks. */
export function withCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) return bytes;
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** A complete model file around a JSON header: tensor data sized as the header says (when plausible), CRC. */
export function frameModel(header: Uint8Array): Uint8Array {
  let floats = 4;
  try {
    const h = JSON.parse(decoder.decode(header)) as { tensors?: { params?: { shape?: unknown }[]; state?: { shape?: unknown }[] } };
    const list = [...(h?.tensors?.params ?? []), ...(h?.tensors?.state ?? [])];
    let total = 0;
    for (const t of Array.isArray(list) ? list : []) {
      const shape = (t as { shape?: unknown })?.shape;
      if (Array.isArray(shape)) total += shape.reduce((a: number, b: unknown) => a * (typeof b === 'number' ? b : 1), 1);
    }
    if (Number.isSafeInteger(total) && total >= 0 && total <= 1 << 18) floats = total;
  } catch {
    // not JSON: any data will do
  }
  const pad = (4 - (header.length % 4)) % 4;
  const out = new Uint8Array(16 + header.length + pad + floats * 4 + 4);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE, 0);
  view.setUint32(8, 1, true);
  view.setUint32(12, header.length, true);
  out.set(header, 16);
  const data = new Float32Array(out.buffer, 16 + header.length + pad, floats);
  for (let i = 0; i < floats; i++) data[i] = ((i * 37) % 19) / 19 - 0.5;
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** What `nasx export` does with a model it loaded: build the ONNX graph. */
function decodeAndExport(bytes: Uint8Array): void {
  const model = decodeModel(bytes, 'fuzz.nasx');
  buildOnnx(model);
}

const MODEL_TOKENS = [
  '"format":"nasx-model"', '"tensors"', '"shape":[', '"params"', '"state"', '"nodes"', '"arch"', '"inputShape":[8,8,1]', '"outputSize"',
  '"task":"regression"', '"task":"classification"', '"classNames"', '"normalization"', '"targetNormalization"', '"mean"', '"std"', '"scale"',
  '"op":"dense"', '"op":"conv2d"', '"op":"add"', '"op":"batch_norm"', '"op":"activation"', '"activation":"gelu"', '"inputs":[-1]', '"units"',
  '"filters"', '"kernel"', '"stride"', '"bias":false', '"project":true', '"metrics"', '"seed"', '"source"', '"data"', '.weight', '.bias',
];

const modelFile: FuzzTarget = {
  name: 'model-file',
  description: 'decodeModel (lib/export/model-file.ts) on the bytes as they are and with the CRC fixed; a decoded model then goes to buildOnnx',
  maxLength: 65536,
  tokens: [SIGNATURE, Uint8Array.of(1, 0, 0, 0), Uint8Array.of(2, 0, 0, 0), Uint8Array.of(0xff, 0xff, 0xff, 0xff), ...MODEL_TOKENS],
  verdict: {},
  run(bytes) {
    runAll([() => decodeAndExport(bytes), () => decodeAndExport(withCrc(bytes))]);
  },
};

const modelHeader: FuzzTarget = {
  name: 'model-header',
  description: 'the bytes as the JSON header of a model file (framed with tensor data of the sizes it declares and a valid CRC): decodeModel, then buildOnnx',
  maxLength: 16384,
  tokens: MODEL_TOKENS,
  verdict: {},
  run(bytes) {
    decodeAndExport(frameModel(bytes));
  },
};

// ---------------------------------------------------------------------------------------------------
// Architectures and spaces

const ARCH_TOKENS = [
  '"type":"mlp"', '"type":"cnn"', '"type":"graph"', '"layers":[', '"nodes":[', '{"units":64}', '{"conv":16}', '{"depthwise":3}', '{"pool":"max"}',
  '{"pool":"avg","size":7}', '{"globalPool":"avg"}', '{"dense":10}', '{"dropout":0.5}', '{"residual":[{"conv":8}]}', '"stride":2', '"kernel":5',
  '"separable":true', '"batchNorm":true', '"residual":true', '"activation":"identity"', '"hyper":{"lr":0.1,"optimizer":"sgd","momentum":0.9}',
  '"op":"add"', '"op":"flatten"', '"op":"global_avg_pool"', '"inputs":[-1,0]', '"project":true', '"rate":0.99', '"filters":65536', '"units":1048576',
];

function parseAndLower(bytes: Uint8Array) {
  const arch = parseArch(text(bytes), 'fuzz.json');
  for (const outputSize of [1, 10]) {
    const nodes = lowerArch(arch, outputSize);
    check(Array.isArray(nodes) && nodes.length > 0, 'lowerArch returned no nodes for an accepted architecture');
  }
  validateArch(structuredClone(arch));
  return arch;
}

const arch: FuzzTarget = {
  name: 'arch',
  description: 'parseArch + lowerArch + validateArch (lib/arch/arch.ts) on the bytes as UTF-8 JSON',
  maxLength: 4096,
  tokens: ARCH_TOKENS,
  verdict: {},
  run(bytes) {
    parseAndLower(bytes);
  },
};

const archPlan: FuzzTarget = {
  name: 'arch-plan',
  description: 'parseArch, then describeArch (the native planner) for digits-, tabular- and MNIST-shaped data',
  corpus: 'arch',
  maxLength: 4096,
  tokens: ARCH_TOKENS,
  verdict: { allowCodedError: true },
  run(bytes) {
    const a = parseAndLower(bytes);
    runAll(
      ([
        [[8, 8, 1], 10],
        [[1, 1, 5], 3],
        [[28, 28, 1], 10],
      ] as const).map(([inputShape, outputSize]) => () => {
        const plan = describeArch(a, { inputShape, outputSize });
        check(Number.isFinite(plan.params) && plan.params >= 0 && Number.isFinite(plan.flops), `plan has params ${plan.params}, flops ${plan.flops}`);
      }),
    );
  },
};

const SPACE_TOKENS = [
  '{"choice":[1,2]}', '{"int":{"low":1,"high":9,"step":2}}', '{"log":{"low":0.001,"high":0.1,"count":3}}', '"integer":true',
  '{"repeat":{"a":{"choice":[1,2]}},"count":{"min":0,"max":3}}', '"count":[0,2,4]', '"count":{"min":1024,"max":1024}', '{"constant":{"a":[1]}}',
  '{"object":{"x":1}}', '"when":{"a":[1]}', '"when":{"a":1}', '"type":"mlp"', '"type":"cnn"', '"type":"config"', '"name":"s"', '"params":',
  '"layers":', '"units":', '"activation":', '"description":""', '"high":10000', '"low":-9007199254740991',
];

const jsonSpace: FuzzTarget = {
  name: 'json-space',
  description: 'JSON.parse + parseSearchSpace (lib/space/json-space.ts); then sample, hash, validate, decisions/fromDecisions, encode, mutate, neighbours and cost under a seeded RNG',
  maxLength: 4096,
  tokens: SPACE_TOKENS,
  verdict: { allowSyntaxError: true },
  run(bytes) {
    const value: unknown = JSON.parse(text(bytes));
    const space = parseSearchSpace(value, 'fuzz.json');
    const rng = createRng(1);
    const io = { inputShape: [8, 8, 1] as const, outputSize: 10 };
    runAll(
      Array.from({ length: 3 }, () => () => {
        const a = space.sample(rng);
        space.validate(a);
        const h = space.hash(a);
        check(typeof h === 'string' && h === space.hash(structuredClone(a)), 'hash is not stable under a copy');
        const d = space.decisions(a);
        check(isDeepStrictEqual(space.fromDecisions(d), a), `fromDecisions(decisions(a)) differs from a = ${JSON.stringify(a).slice(0, 200)}`);
        check(space.optionsAt(d) === 0, 'optionsAt(decisions(a)) is not 0');
        const e = space.encode(a);
        check(e.length === space.encodingLength, `encode gave ${e.length} values, encodingLength is ${space.encodingLength}`);
        runAll([
          () => {
            const m = space.mutate(a, rng);
            space.validate(m);
            check(!isDeepStrictEqual(m, a), 'mutate returned the same architecture');
          },
          () => {
            for (const n of space.neighbours(a).slice(0, 16)) space.validate(n);
          },
          () => {
            if (space.trainable) space.cost(a, io);
          },
        ]);
      }),
    );
  },
};

export const TARGETS: readonly FuzzTarget[] = [idx, csv, modelFile, modelHeader, arch, archPlan, jsonSpace];

export function targetByName(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new RangeError(`Expected one of ${TARGETS.map((x) => JSON.stringify(x.name)).join(', ')} for --target but received ${JSON.stringify(name)}`);
  return t;
}
