import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { loadDataset } from '../../lib/data/load.js';
import { NasxError } from '../../lib/errors.js';
import { MODEL_FORMAT_VERSION, encodeModel, loadModel, saveModel, type TrainedModel } from '../../lib/export/model-file.js';
import { trainModel } from '../../lib/export/train-model.js';
import { nasxVersion } from '../../lib/util/version.js';

let model: TrainedModel;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'nasx-model-'));
  model = await trainModel(
    { type: 'cnn', layers: [{ conv: 4, batchNorm: true }, { residual: [{ conv: 8, stride: 2 }] }, { globalPool: 'avg' }] },
    'digits',
    { epochs: 1, seed: 2 },
  );
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
