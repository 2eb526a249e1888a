import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { loadDataset } from '../../lib/data/load.js';
import { NasxError, describeValue } from '../../lib/errors.js';
import { MODEL_FORMAT_VERSION, decodeModel, encodeModel, loadModel, saveModel, type TrainedModel } from '../../lib/export/model-file.js';
import { trainModel } from '../../lib/export/train-model.js';
import { nasxVersion } from '../../lib/util/version.js';

let model: TrainedModel;
/** A regression model (one target) trained on a small CSV file. */
let regression: TrainedModel;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'nasx-model-'));
  model = await trainModel(
    { type: 'cnn', layers: [{ conv: 4, batchNorm: true }, { residual: [{ conv: 8, stride: 2 }] }, { globalPool: 'avg' }] },
    'digits',
    { epochs: 1, seed: 2 },
  );
  const csv = path.join(dir, 'regression.csv');
  const rows = ['a,b,c,target'];
  for (let i = 0; i < 60; i++) rows.push(`${i % 7},${(i * 3) % 11},${i % 5},${(i % 7) * 0.5 - ((i * 3) % 11) * 0.25}`);
  writeFileSync(csv, `${rows.join('\n')}\n`);
  regression = await trainModel({ type: 'mlp', layers: [{ units: 4 }] }, { csv, task: 'regression' }, { epochs: 1 });
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('trainModel records the architecture, lowered nodes, shapes, task, classes, normalisation, metrics and provenance', (t) => {
  t.is(model.nodes[0]!.op, 'conv2d');
  t.deepEqual(model.inputShape, [8, 8, 1]);
  t.is(model.outputSize, 10);
  t.is(model.task, 'classification');
  t.deepEqual(model.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  t.is(model.normalization.mean.length, 1);
  t.is(typeof model.metrics.testAccuracy, 'number');
  t.deepEqual(model.data, { name: 'digits', source: 'digits', seed: 2 });
  t.deepEqual(model.training, { epochs: 1, seed: 2 });
  t.is(model.nasxVersion, nasxVersion());
  t.true(model.weights.params.some((p) => p.name === 'layers[1].add.projection.weight'));
  t.deepEqual(model.weights.state.map((s) => s.name), ['layers[0].bn.running_mean', 'layers[0].bn.running_var']);
});

test('saveModel and loadModel round-trip every field and every weight bit for bit', async (t) => {
  const file = path.join(dir, 'round.nasx');
  await saveModel(model, file);
  const loaded = await loadModel(file);
  t.deepEqual(loaded, model);
  t.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.round.nasx.')), [], 'no temporary file is left');
  const bytes = readFileSync(file);
  t.is(bytes.toString('latin1', 0, 8), 'NASXMODL');
  t.is(bytes.readUInt32LE(8), MODEL_FORMAT_VERSION);
});

test('a regression model round-trips too, its target normalisation included', (t) => {
  t.is(regression.task, 'regression');
  t.is(regression.outputSize, 1);
  t.deepEqual(regression.inputShape, [1, 1, 3]);
  t.is(regression.normalization.mean.length, 3);
  t.is(regression.targetNormalization!.mean.length, 1);
  t.is(regression.classNames, undefined);
  t.deepEqual(decodeModel(encodeModel(regression)), regression);
});

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** The bytes of `model` with format version `version` and a valid checksum. */
function withVersion(version: number): Buffer {
  const bytes = Buffer.from(encodeModel(model));
  bytes.writeUInt32LE(version, 8);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
  return bytes;
}

test('a corrupt file (a changed byte, a truncation) is refused with a clear message', async (t) => {
  const bytes = Buffer.from(encodeModel(model));
  const flipped = Buffer.from(bytes);
  flipped[bytes.length - 100]! ^= 0xff;
  const stored = flipped.readUInt32LE(flipped.length - 4);
  const computed = crc32(flipped.subarray(0, flipped.length - 4));
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  const file = write('flipped.nasx', flipped);
  await t.throwsAsync(loadModel(file), {
    instanceOf: NasxError,
    message: `${file} is corrupt: its checksum does not match (stored ${hex(stored)}, computed ${hex(computed)}): it was truncated or changed after it was written`,
  });
  const truncated = write('truncated.nasx', bytes.subarray(0, 12));
  await t.throwsAsync(loadModel(truncated), { message: `${truncated} is corrupt: it ends after 12 bytes, before its header` });
  const err = await t.throwsAsync(loadModel(write('half.nasx', bytes.subarray(0, bytes.length >> 1))));
  t.regex(err!.message, /is corrupt: its checksum does not match/);
  t.is((err as NasxError).code, 'ERR_NASX_MODEL_FILE');
});

test('a file that is not a model file is named as such', async (t) => {
  const file = write('notes.nasx', Buffer.from('{"type":"mlp"}'));
  await t.throwsAsync(loadModel(file), { message: `${file} is not a nasx model file: it does not start with the signature NASXMODL` });
});

test('a file from a newer format version asks for a newer nasx', async (t) => {
  const file = write('future.nasx', withVersion(MODEL_FORMAT_VERSION + 1));
  await t.throwsAsync(loadModel(file), {
    instanceOf: NasxError,
    message: `${file} was written by a newer nasx (model format version ${MODEL_FORMAT_VERSION + 1}); this nasx (${nasxVersion()}) reads versions up to ${MODEL_FORMAT_VERSION}: upgrade nasx to load it`,
  });
});

test('a missing file and an unwritable output path give clear errors and leave nothing behind', async (t) => {
  const missing = path.join(dir, 'nope.nasx');
  await t.throwsAsync(loadModel(missing), { message: `Cannot read model file ${missing}: no such file` });
  const noDir = path.join(dir, 'no-such-dir', 'm.nasx');
  await t.throwsAsync(saveModel(model, noDir), { instanceOf: NasxError, message: `Cannot write ${noDir}: the directory ${path.join(dir, 'no-such-dir')} does not exist` });
  if (process.getuid?.() !== 0) {
    const locked = path.join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    t.teardown(() => chmodSync(locked, 0o700));
    await t.throwsAsync(saveModel(model, path.join(locked, 'm.nasx')), { message: `Cannot write ${path.join(locked, 'm.nasx')}: permission denied in ${locked}` });
  }
  const asDir = path.join(dir, 'a-directory.nasx');
  mkdirSync(asDir);
  await t.throwsAsync(saveModel(model, asDir), { message: `Cannot write ${asDir}: it is not a regular file (a directory)` });
  t.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.m.nasx.') || f.startsWith('.a-directory.nasx.')), []);
});

test('a model trained on a CSV file records its absolute path', async (t) => {
  const csv = path.join(dir, 'iris-like.csv');
  const rows = ['a,b,label'];
  for (let i = 0; i < 60; i++) rows.push(`${i % 7},${(i * 3) % 11},${i % 3 === 0 ? 'x' : 'y'}`);
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const relative = path.relative(process.cwd(), csv);
  const m = await trainModel({ type: 'mlp', layers: [{ units: 4 }] }, { csv: relative }, { epochs: 1 });
  t.deepEqual(m.data.source, { csv });
  t.deepEqual(m.classNames, ['x', 'y']);
  t.is((await loadDataset(m.data.source!, { seed: m.data.seed })).test.count > 0, true);
});

// Forged headers: the checksum is valid (the file was re-encoded after the change), so only the
// header's own checks stand between a hand-edited or malicious file and the exporter.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** The bytes of `base` changed by `change`, re-encoded with encodeModel (so the checksum is valid). */
function forged(change: (m: Loose) => void, base: TrainedModel = model): Uint8Array {
  const m = structuredClone(base);
  change(m);
  return encodeModel(m);
}

/**
 * The bytes of `model` with its header's JSON text changed by `change`, for what encodeModel derives
 * itself (format, tensors) or cannot write (1e999, which JSON.parse reads as Infinity); the padding,
 * the header length and the checksum are redone.
 */
function withHeaderText(change: (json: string) => string): Buffer {
  const bytes = Buffer.from(encodeModel(model));
  const length = bytes.readUInt32LE(12);
  const json = Buffer.from(change(bytes.toString('utf8', 16, 16 + length)), 'utf8');
  const data = bytes.subarray(16 + length + ((4 - (length % 4)) % 4), bytes.length - 4);
  const dataStart = 16 + json.length + ((4 - (json.length % 4)) % 4);
  const out = Buffer.alloc(dataStart + data.length + 4);
  bytes.copy(out, 0, 0, 12);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, 16);
  data.copy(out, dataStart);
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

function withHeader(change: (h: Loose) => void): Buffer {
  return withHeaderText((json) => {
    const h = JSON.parse(json);
    change(h);
    return JSON.stringify(h);
  });
}

const tensorBytes = (m: TrainedModel) => [...m.weights.params, ...m.weights.state].reduce((a, w) => a + w.data.length * 4, 0);

const forgeries: [string, () => Uint8Array, string][] = [
  ['a header that is not an object', () => withHeaderText(() => '[1,2]'), 'its header must be a JSON object but is [1, 2]'],
  ['another format', () => withHeader((h) => (h.format = 'onnx')), 'its header\'s format must be "nasx-model" but is "onnx"'],
  ['missing fields', () => forged((m) => { delete m.metrics; delete m.data; }), 'its header lacks metrics, data'],
  ['arch not an object', () => forged((m) => (m.arch = [1])), 'its header\'s arch must be an object but is [1]'],
  ['nodes not an array', () => forged((m) => (m.nodes = {})), 'its header\'s nodes must be an array of objects but is an object'],
  ['a node not an object', () => forged((m) => (m.nodes[1] = 'dense')), 'its header\'s nodes[1] must be an object but is "dense"'],
  ['inputShape of 2 dimensions', () => forged((m) => (m.inputShape = [8, 8])), 'its header\'s inputShape must be 3 positive integers [height, width, channels] but is [8, 8]'],
  ['inputShape with a zero', () => forged((m) => (m.inputShape = [8, 0, 1])), 'its header\'s inputShape must be 3 positive integers [height, width, channels] but is [8, 0, 1]'],
  ['outputSize 0', () => forged((m) => (m.outputSize = 0)), 'its header\'s outputSize must be a positive integer but is 0'],
  ['outputSize 2.5', () => forged((m) => (m.outputSize = 2.5)), 'its header\'s outputSize must be a positive integer but is 2.5'],
  ['an unknown task', () => forged((m) => (m.task = 'ranking')), 'its header\'s task must be "classification" or "regression" but is "ranking"'],
  ['classNames of the wrong length', () => forged((m) => (m.classNames = ['a', 'b', 'c'])), 'its header\'s classNames has 3 entries but outputSize is 10'],
  ['classNames not a list', () => forged((m) => (m.classNames = 'abc')), 'its header\'s classNames must be a list of strings but is "abc"'],
  ['a class name not a string', () => forged((m) => (m.classNames[9] = 9)), 'its header\'s classNames[9] must be a string but is 9'],
  ['classNames on a regression model', () => forged((m) => (m.classNames = ['y']), regression), 'its header has classNames but its task is "regression"'],
  ['normalization not an object', () => forged((m) => (m.normalization = 'x')), 'its header\'s normalization must be an object { scale, mean, std } but is "x"'],
  ['normalization.scale a string', () => forged((m) => (m.normalization.scale = '1')), 'its header\'s normalization.scale must be a finite number but is "1"'],
  ['normalization.scale infinite', () => withHeaderText((json) => json.replace(/"scale":[^,}]+/, '"scale":1e999')), 'its header\'s normalization.scale must be a finite number but is Infinity'],
  ['normalization.mean of the wrong length', () => forged((m) => (m.normalization.mean = [0, 0])), 'its header\'s normalization.mean has 2 entries but inputShape has 1 channel'],
  ['normalization.mean with a string', () => forged((m) => (m.normalization.mean = ['0'])), 'its header\'s normalization.mean[0] must be a finite number but is "0"'],
  ['normalization.std missing', () => forged((m) => delete m.normalization.std), 'its header\'s normalization.std must be a list of positive numbers but is undefined'],
  ['normalization.std zero', () => forged((m) => (m.normalization.std = [0])), 'its header\'s normalization.std[0] must be a positive number but is 0'],
  ['normalization.std of the wrong length (3 channels)', () => forged((m) => (m.normalization.std = [1]), regression), 'its header\'s normalization.std has 1 entry but inputShape has 3 channels'],
  ['regression without targetNormalization', () => forged((m) => delete m.targetNormalization, regression), 'its header lacks targetNormalization, which a regression model needs'],
  ['targetNormalization not an object', () => forged((m) => (m.targetNormalization = [0, 1]), regression), 'its header\'s targetNormalization must be an object { mean, std } but is [0, 1]'],
  ['targetNormalization.mean of the wrong length', () => forged((m) => (m.targetNormalization.mean = [0, 0]), regression), 'its header\'s targetNormalization.mean has 2 entries but outputSize is 1'],
  ['targetNormalization.std negative', () => forged((m) => (m.targetNormalization.std = [-1]), regression), 'its header\'s targetNormalization.std[0] must be a positive number but is -1'],
  ['targetNormalization on a classifier', () => forged((m) => (m.targetNormalization = { mean: [0], std: [1] })), 'its header has targetNormalization but its task is "classification"'],
  ['metrics not an object', () => forged((m) => (m.metrics = [])), 'its header\'s metrics must be an object but is []'],
  ['a metric not a number', () => forged((m) => (m.metrics.testAccuracy = 'high')), 'its header\'s metrics.testAccuracy must be a finite number or null but is "high"'],
  ['params negative', () => forged((m) => (m.params = -1)), 'its header\'s params must be a non-negative integer but is -1'],
  ['flops fractional', () => forged((m) => (m.flops = 1.5)), 'its header\'s flops must be a non-negative integer but is 1.5'],
  ['data not an object', () => forged((m) => (m.data = 'digits')), 'its header\'s data must be an object { name, source, seed } but is "digits"'],
  ['data.name not a string', () => forged((m) => (m.data.name = 5)), 'its header\'s data.name must be a string but is 5'],
  ['data.seed negative', () => forged((m) => (m.data.seed = -1)), 'its header\'s data.seed must be a non-negative integer but is -1'],
  ['data.source a number', () => forged((m) => (m.data.source = 3)), 'its header\'s data.source must be a data set name or an object but is 3'],
  ['training null', () => forged((m) => (m.training = null)), 'its header\'s training must be an object but is null'],
  ['nasxVersion not a string', () => forged((m) => (m.nasxVersion = 1)), 'its header\'s nasxVersion must be a string but is 1'],
  ['tensors not an object', () => withHeader((h) => (h.tensors = [])), 'its header\'s tensors must be an object { params, state } but is []'],
  ['tensors.state not a list', () => withHeader((h) => (h.tensors.state = 'x')), 'its header\'s tensors.state must be a list of { name, shape } but is "x"'],
  ['a tensor name not a string', () => withHeader((h) => (h.tensors.params[1].name = 3)), 'its header\'s tensors.params[1].name must be a string but is 3'],
  ['a tensor shape with a negative size', () => withHeader((h) => (h.tensors.params[0].shape = [4, -1])), 'its header\'s tensors.params[0].shape must be a list of non-negative integers but is [4, -1]'],
];

for (const [name, bytes, why] of forgeries) {
  test(`a forged header is refused: ${name}`, (t) => {
    t.throws(() => decodeModel(bytes(), 'forged.nasx'), { instanceOf: NasxError, message: `forged.nasx is corrupt: ${why}` });
  });
}

test('a forged header whose tensor shapes do not match the data is refused', (t) => {
  const first = model.weights.params[0]!;
  const bytes = withHeader((h) => (h.tensors.params[0].shape = [1]));
  const described = tensorBytes(model) - (first.data.length - 1) * 4;
  const err = t.throws(() => decodeModel(bytes, 'forged.nasx'), {
    message: `forged.nasx is corrupt: its header describes ${described} bytes of tensor data but the file holds ${tensorBytes(model)}`,
  });
  t.is((err as NasxError).code, 'ERR_NASX_MODEL_FILE');
});

/** `model` changed by `change` (a deep copy; the weights' typed arrays are copied too). */
function edited(change: (m: Loose) => void, base: TrainedModel = model): TrainedModel {
  const m = structuredClone(base);
  change(m);
  return m;
}

// A model passed to saveModel (or exportOnnx, validateOnnx) is checked by the rules the reader applies
// to a header (checkTrainedModel shares them), as TypeErrors and RangeErrors naming model.<field>.
const badModels: [string, () => unknown, typeof TypeError | typeof RangeError, string | (() => string)][] = [
  ['null', () => null, TypeError, 'Expected a trained model for model but received null'],
  ['an array', () => [model], TypeError, 'Expected a trained model for model but received an array of length 1'],
  ['an empty object', () => ({}), TypeError, 'Expected a trained model for model but received an object without arch, nodes, inputShape, outputSize, task, normalization, metrics, params, flops, data, training, nasxVersion, createdAt, weights'],
  ['weights undefined', () => edited((m) => (m.weights = undefined)), TypeError, 'Expected a trained model for model but received an object without weights'],
  ['weights not an object', () => edited((m) => (m.weights = 5)), TypeError, 'Expected an object { params, state } for model.weights but received 5 of type number'],
  ['weights.params not a list', () => edited((m) => (m.weights.params = {})), TypeError, 'Expected a list of { name, shape, data } for model.weights.params but received an object'],
  ['a tensor shape not an array', () => edited((m) => (m.weights.params[0].shape = 5)), TypeError, 'Expected a list of non-negative integers for model.weights.params[0].shape but received 5 of type number'],
  ['a tensor shape with a BigInt', () => edited((m) => (m.weights.params[0].shape = [4n])), RangeError, 'Expected a list of non-negative integers for model.weights.params[0].shape but received an array of length 1'],
  ['tensor data not a Float32Array', () => edited((m) => (m.weights.state[0].data = [0])), TypeError, 'Expected a Float32Array for model.weights.state[0].data but received an array of length 1'],
  ['tensor data of the wrong size', () => edited((m) => (m.weights.params[0].data = new Float32Array(3))), RangeError, () => `Expected a Float32Array of ${model.weights.params[0]!.data.length} values (shape [${model.weights.params[0]!.shape.join(',')}]) for model.weights.params[0].data but received a Float32Array of length 3`],
  ['normalization.mean null', () => edited((m) => (m.normalization.mean = null)), TypeError, 'Expected a list of finite numbers for model.normalization.mean but received null'],
  ['normalization.mean of the wrong length', () => edited((m) => (m.normalization.mean = [0, 0])), RangeError, 'Expected a list of 1 numbers (inputShape has 1 channel) for model.normalization.mean but received an array of length 2'],
  ['outputSize 0', () => edited((m) => (m.outputSize = 0)), RangeError, 'Expected a positive integer for model.outputSize but received 0 of type number'],
  ['outputSize a string', () => edited((m) => (m.outputSize = '10')), TypeError, 'Expected a positive integer for model.outputSize but received "10" of type string'],
  ['classNames of the wrong length', () => edited((m) => (m.classNames = ['a'])), RangeError, 'Expected a list of 10 strings (outputSize is 10) for model.classNames but received an array of length 1'],
  ['targetNormalization on a classifier', () => edited((m) => (m.targetNormalization = { mean: [0], std: [1] })), RangeError, 'Expected no targetNormalization (the task is "classification") for model.targetNormalization but received an object'],
  ['regression without targetNormalization', () => edited((m) => delete m.targetNormalization, regression), TypeError, 'Expected an object { mean, std } (a regression model needs one) for model.targetNormalization but received undefined'],
  ['a BigInt metric', () => edited((m) => (m.metrics.valLoss = 1n)), TypeError, 'Expected a finite number or null for model.metrics.valLoss but received 1 of type bigint'],
  ['a BigInt in the training settings', () => edited((m) => (m.training.epochs = 1n)), TypeError, 'Expected JSON data (no BigInt or circular values) for model.training but received an object'],
];

for (const [name, bad, type, message] of badModels) {
  test(`saveModel refuses a model that is not a TrainedModel: ${name}`, async (t) => {
    const file = path.join(dir, 'refused.nasx');
    await t.throwsAsync(saveModel(bad() as TrainedModel, file), { instanceOf: type, message: typeof message === 'string' ? message : message() });
    t.false(readdirSync(dir).some((f) => f.includes('refused.nasx')));
  });
}

test('saveModel and loadModel refuse a file path that is not a string', async (t) => {
  for (const file of [5, Symbol('f'), null, undefined, {}]) {
    const message = `Expected a file path (a string) for file but received ${describeValue(file)}`;
    await t.throwsAsync(saveModel(model, file as string), { instanceOf: TypeError, message });
    await t.throwsAsync(loadModel(file as string), { instanceOf: TypeError, message });
  }
  const message = 'Expected a file path (a non-empty string without NUL bytes) for file but received';
  await t.throwsAsync(saveModel(model, ''), { instanceOf: RangeError, message: `${message} "" of type string` });
  await t.throwsAsync(loadModel('a\0b'), { instanceOf: RangeError, message: `${message} "a\\u0000b" of type string` });
});
