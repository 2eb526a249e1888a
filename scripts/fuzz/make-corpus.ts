/**
 * Regenerates the fuzzers' seed corpus in test/fuzz/corpus/ from real inputs: the data tests' IDX
 * fixtures, the first lines of the digits CSV, model files written by trainModel + saveModel (a small
 * MLP and CNN on digits and a regression MLP on a CSV, one epoch each), architectures sampled from the
 * built-in spaces and the space fixtures, and the space fixtures themselves.
 *
 *   node --import tsx scripts/fuzz/make-corpus.ts
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { encodeModel } from '../../lib/export/model-file.js';
import { trainModel } from '../../lib/export/train-model.js';
import { getSpace } from '../../lib/space/index.js';
import { loadSearchSpace } from '../../lib/space/json-space.js';
import { createRng } from '../../lib/util/rng.js';
import { REPO_ROOT, SEED_CORPUS_DIR } from './supervisor.js';

interface Fixtures {
  idxBytes(dims: number[], data: ArrayLike<number>, type?: number): Uint8Array;
  imageSet(count: number, height: number, width: number, classes: number): { images: Uint8Array; labels: Uint8Array };
}

function writeAll(target: string, files: Record<string, string | Uint8Array>): void {
  const dir = path.join(SEED_CORPUS_DIR, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
}

async function idx(): Promise<void> {
  // The data tests' own builders (a path TypeScript does not follow: test/ is not part of the build).
  const fixturesPath = path.join(REPO_ROOT, 'test', 'data', 'fixtures.ts');
  const { idxBytes, imageSet } = (await import(fixturesPath)) as Fixtures;
  const set = imageSet(3, 4, 4, 2);
  writeAll('idx', {
    'images-3x4x4': set.images,
    'labels-3': set.labels,
    'images-2x2x2x3': idxBytes([2, 2, 2, 3], Array.from({ length: 24 }, (_, i) => i * 10)),
    'empty-0x28x28': idxBytes([0, 28, 28], []),
    'signed-byte': idxBytes([2], [1, 2], 0x09),
    'float32': idxBytes([1], [0, 0, 0, 0], 0x0d),
  });
}

function csv(): void {
  const digits = gunzipSync(readFileSync(path.join(REPO_ROOT, 'data', 'digits', 'digits.csv.gz'))).toString('utf8');
  const lines = digits.split('\n');
  writeAll('csv', {
    'digits-head.csv': `${lines.slice(0, 9).join('\n')}\n`,
    'named-labels.csv': 'sepal length,sepal width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n4.9,3.0,setosa\n',
    'quoted.csv': '"a","b ""quoted""","label"\r\n"1.5", 2 ,"x"\r\n"2","3\n","y"\r\n\r\n4,5,x\r\n',
    'regression.csv': 'x1,x2,target\n0,1,0.5\n1,0,-0.25\n2,2,1e-3\n3,1,4\n',
    'semicolon.csv': '\ufeffa;b;c\n1;2;0\n3;4;1\n5;6;0\n',
    'no-header.csv': '1,2,0\n3,4,1\n5,6,2\n7,8,0\n9,10,1\n',
  });
}

async function models(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-corpus-'));
  try {
    const mlp = await trainModel({ type: 'mlp', layers: [{ units: 16, batchNorm: true, dropout: 0.1 }] }, 'digits', { epochs: 1, seed: 1 });
    const cnn = await trainModel(
      { type: 'cnn', layers: [{ conv: 4, batchNorm: true }, { residual: [{ conv: 4, separable: true }] }, { pool: 'max' }, { globalPool: 'avg' }, { dense: 8, activation: 'gelu' }] },
      'digits',
      { epochs: 1, seed: 1 },
    );
    const table = path.join(dir, 'regression.csv');
    const rows = ['a,b,c,t1,t2'];
    for (let i = 0; i < 40; i++) rows.push(`${i % 7},${(i * 3) % 11},${i % 5},${(i % 7) * 0.5},${i % 3}`);
    writeFileSync(table, `${rows.join('\n')}\n`);
    const regression = await trainModel(
      { type: 'mlp', layers: [{ units: 4, residual: true, activation: 'tanh' }] },
      { csv: table, task: 'regression', labelColumn: ['t1', 't2'] },
      { epochs: 1, seed: 1 },
    );
    // The recorded CSV path is absolute and machine-specific; a stable one keeps the corpus reproducible.
    regression.data.source = { csv: '/tmp/regression.csv', task: 'regression', labelColumn: ['t1', 't2'] };
    const files: Record<string, Uint8Array> = {};
    const headers: Record<string, Uint8Array> = {};
    for (const [name, model] of Object.entries({ 'mlp-digits': mlp, 'cnn-digits': cnn, 'mlp-regression': regression })) {
      model.createdAt = '2025-01-01T00:00:00.000Z';
      const bytes = encodeModel(model);
      files[`${name}.nasx`] = bytes;
      const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
      headers[`${name}.json`] = bytes.slice(16, 16 + length);
    }
    writeAll('model-file', files);
    writeAll('model-header', headers);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function archs(): Promise<void> {
  const files: Record<string, string> = {
    'readme-mlp.json': '{"type":"mlp","layers":[{"units":256,"activation":"relu"}]}',
    'readme-cnn.json': '{"type":"cnn","layers":[{"conv":16},{"pool":"max"},{"conv":32,"separable":true},{"globalPool":"avg"}]}',
    'cnn-all-layers.json': JSON.stringify({
      type: 'cnn',
      layers: [
        { conv: 8, kernel: 5, stride: 2, batchNorm: true, activation: 'gelu' },
        { depthwise: 3, stride: 1, batchNorm: true, activation: 'tanh' },
        { residual: [{ conv: 8, kernel: 1 }, { dropout: 0.2 }] },
        { pool: 'avg', size: 3, stride: 1 },
        { dense: 16, activation: 'sigmoid', batchNorm: true, dropout: 0.1 },
      ],
      hyper: { optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.0005 },
    }),
    'graph.json': JSON.stringify({
      type: 'graph',
      nodes: [
        { op: 'conv2d', filters: 4, kernel: 3, stride: 1 },
        { op: 'activation', activation: 'relu' },
        { op: 'add', inputs: [1, -1], project: true },
        { op: 'flatten' },
        { op: 'dense', units: 10, bias: true },
      ],
    }),
  };
  const rng = createRng(3);
  for (const name of ['mlp', 'cnn'] as const) {
    const space = getSpace(name);
    for (let i = 0; i < 3; i++) files[`${name}-space-${i}.json`] = JSON.stringify(space.build(space.sample(rng), { inputShape: [8, 8, 1], outputSize: 10 }));
  }
  const nb201 = getSpace('nb201');
  for (let i = 0; i < 2; i++) files[`nb201-space-${i}.json`] = JSON.stringify(nb201.build(nb201.sample(rng), { inputShape: [8, 8, 1], outputSize: 10 }));
  const user = await loadSearchSpace(path.join(REPO_ROOT, 'test', 'space', 'fixtures', 'user-mlp.json'));
  for (let i = 0; i < 2; i++) files[`user-mlp-${i}.json`] = JSON.stringify(user.build(user.sample(rng), { inputShape: [8, 8, 1], outputSize: 10 }));
  writeAll('arch', files);
}

function spaces(): void {
  const fixtures = path.join(REPO_ROOT, 'test', 'space', 'fixtures');
  const files: Record<string, string> = {};
  for (const name of readdirSync(fixtures)) files[name] = readFileSync(path.join(fixtures, name), 'utf8');
  files['readme-config.json'] = JSON.stringify({
    name: 'tabular-demo',
    type: 'config',
    params: {
      optimizer: { choice: ['sgd', 'adamw'] },
      momentum: { choice: [0.8, 0.9], when: { optimizer: ['sgd'] } },
      lr: { log: { low: 0.0001, high: 0.1, count: 4 } },
      layers: { repeat: { units: { int: { low: 16, high: 64, step: 16 } }, act: 'relu' }, count: { min: 1, max: 3 } },
    },
  });
  files['cnn.json'] = JSON.stringify({
    name: 'small-cnn',
    type: 'cnn',
    params: {
      layers: { repeat: { conv: { choice: [4, 8] }, kernel: { choice: [1, 3, 5] }, separable: { choice: [false, true] } }, count: [1, 2] },
      hyper: { object: { lr: { constant: 0.01 } } },
    },
  });
  files['tuple.json'] = JSON.stringify({ name: 't', params: [{ choice: [null, true, 'x', 1.5] }, { constant: [1, { a: null }] }, [1, 2]] });
  writeAll('json-space', files);
}

await idx();
csv();
await models();
await archs();
spaces();
process.stdout.write(`seed corpus written to ${path.relative(REPO_ROOT, SEED_CORPUS_DIR)}\n`);
