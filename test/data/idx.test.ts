import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { NasxError } from '../../lib/errors.js';
import { parseIdx, readIdx, readIdxDataset } from '../../lib/data/idx.js';
import { idxBytes, imageSet, tempDir } from './fixtures.js';

test('reads a plain IDX file: dimensions and values', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'images-idx3-ubyte');
  await writeFile(path, idxBytes([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]));
  const { dims, data } = await readIdx(path);
  t.deepEqual(dims, [2, 2, 3]);
  t.deepEqual([...data], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
});

test('reads a gzipped IDX file, detected by the gzip magic number rather than the name', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'labels.idx'); // no .gz suffix on purpose
  await writeFile(path, gzipSync(idxBytes([5], [0, 1, 2, 3, 4])));
  const { dims, data } = await readIdx(path);
  t.deepEqual(dims, [5]);
  t.deepEqual([...data], [0, 1, 2, 3, 4]);
});

test('rejects a wrong magic number', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'bad.idx');
  await writeFile(path, Uint8Array.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 7]));
  const error = await t.throwsAsync(readIdx(path), { instanceOf: NasxError });
  t.is(error.code, 'ERR_NASX_DATA');
  t.is(
    error.message,
    `Invalid IDX file ${path}: expected the magic number 0x00 0x00 <type> <dimensions> but found 0x12 0x34 0x08 0x01`,
  );
});

test('rejects a truncated file, naming it with the expected and actual byte counts', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'train-images-idx3-ubyte');
  await writeFile(path, idxBytes([3, 28, 28], new Uint8Array(3 * 28 * 28)).subarray(0, 1000));
  const error = await t.throwsAsync(readIdx(path), { instanceOf: NasxError });
  t.is(error.code, 'ERR_NASX_DATA');
  t.is(error.message, `Truncated IDX file ${path}: dimensions 3×28×28 need 2368 bytes but the file has 1000`);
});

test('a truncated gzipped file reports the decompressed sizes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 't10k-labels-idx1-ubyte.gz');
  await writeFile(path, gzipSync(idxBytes([10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).subarray(0, 12)));
  const error = await t.throwsAsync(readIdx(path), { instanceOf: NasxError });
  t.is(error.message, `Truncated IDX file ${path} (after gunzip): dimensions 10 need 18 bytes but the file has 12`);
});

test('rejects a header cut short and trailing bytes', (t) => {
  t.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2]), 'x.idx'), {
    instanceOf: NasxError,
    message: 'Truncated IDX file x.idx: its header declares 3 dimensions and needs 16 bytes but the file has 8',
  });
  t.throws(() => parseIdx(idxBytes([2], [1, 2, 3]), 'y.idx'), {
    instanceOf: NasxError,
    message: 'Invalid IDX file y.idx: dimensions 2 need 10 bytes but the file has 11 (1 trailing byte)',
  });
  t.throws(() => parseIdx(Uint8Array.from([0, 0]), 'z.idx'), {
    instanceOf: NasxError,
    message: 'Truncated IDX file z.idx: expected at least 4 bytes for the magic number but found 2',
  });
});

test('rejects data types other than unsigned byte, by name when known', (t) => {
  t.throws(() => parseIdx(idxBytes([1], [0, 0, 0, 0], 0x0d), 'floats.idx'), {
    instanceOf: NasxError,
    message: 'Unsupported IDX data type 0x0d (32-bit float) in floats.idx: only 0x08 (unsigned byte) is supported',
  });
  t.throws(() => parseIdx(idxBytes([1], [0], 0x05), 'odd.idx'), {
    instanceOf: NasxError,
    message: 'Invalid IDX file odd.idx: unknown data type 0x05 (expected 0x08, unsigned byte)',
  });
  t.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 0]), 'scalar.idx'), {
    instanceOf: NasxError,
    message: 'Invalid IDX file scalar.idx: it declares 0 dimensions',
  });
});

test('corrupt gzip data and missing files are reported clearly', async (t) => {
  const dir = await tempDir(t);
  const corrupt = join(dir, 'corrupt.gz');
  await writeFile(corrupt, gzipSync(idxBytes([100], new Uint8Array(100))).subarray(0, 15));
  const gz = await t.throwsAsync(readIdx(corrupt), { instanceOf: NasxError });
  t.is(gz.code, 'ERR_NASX_DATA');
  t.is(gz.message, `Corrupt gzip data in IDX file ${corrupt}: unexpected end of file`);

  const missing = join(dir, 'missing.idx');
  const io = await t.throwsAsync(readIdx(missing), { instanceOf: NasxError });
  t.is(io.code, 'ERR_NASX_IO');
  t.is(io.message, `Cannot read IDX file ${missing}: ENOENT: no such file or directory, open '${missing}'`);
});

test('readIdxDataset pairs images with labels and checks that they agree', async (t) => {
  const dir = await tempDir(t);
  const { images, labels, pixels } = imageSet(6, 4, 3, 3);
  const paths = {
    trainImages: join(dir, 'train-images'),
    trainLabels: join(dir, 'train-labels'),
  };
  await writeFile(paths.trainImages, gzipSync(images));
  await writeFile(paths.trainLabels, labels);
  const raw = await readIdxDataset(paths, { name: 'tiny' });
  t.deepEqual(raw.inputShape, [4, 3, 1]);
  t.is(raw.outputSize, 3);
  t.deepEqual(raw.classNames, ['0', '1', '2']);
  t.is(raw.train.count, 6);
  t.deepEqual([...raw.train.x], [...pixels]);
  t.deepEqual([...raw.train.y], [0, 1, 2, 0, 1, 2]);
  t.is(raw.test, undefined);

  await writeFile(paths.trainLabels, idxBytes([5], [0, 1, 2, 0, 1]));
  await t.throwsAsync(readIdxDataset(paths, { name: 'tiny' }), {
    instanceOf: NasxError,
    message: `${paths.trainLabels} has 5 labels but ${paths.trainImages} has 6 images`,
  });

  await writeFile(paths.trainLabels, idxBytes([6], [0, 1, 2, 0, 1, 7]));
  await t.throwsAsync(readIdxDataset(paths, { name: 'tiny', numClasses: 3 }), {
    instanceOf: NasxError,
    message: `Invalid label 7 at index 5 of ${paths.trainLabels}: expected an integer between 0 and 2`,
  });
  await writeFile(paths.trainLabels, labels);
  await t.throwsAsync(readIdxDataset(paths, { name: 'tiny', imageShape: [28, 28, 1] }), {
    instanceOf: NasxError,
    message: `Expected 28×28×1 images for tiny but ${paths.trainImages} holds 4×3×1 images`,
  });
});
