import test from 'ava';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { NasxError, describeValue } from '../../lib/errors.js';
import {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_FILES,
} from '../../lib/data/builtin.js';
import type { Dataset, Split } from '../../lib/data/dataset.js';
import { clearDatasetCache, loadDataset, type DatasetSource } from '../../lib/data/load.js';
import { idxBytes, imageSet, tempDir } from './fixtures.js';

/** Mean and (population) standard deviation of every value of a split, per channel of `channels`. */
function stats(values: Float32Array, channels = 1): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let n = 0;
    for (let i = c; i < values.length; i += channels, n++) sum += values[i];
    const m = sum / n;
    let squares = 0;
    for (let i = c; i < values.length; i += channels) squares += (values[i] - m) ** 2;
    mean.push(m);
    std.push(Math.sqrt(squares / n));
  }
  return { mean, std };
}

function classCounts(split: Split, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of split.y) counts[label]++;
  return counts;
}

/** Writes the four Fashion-MNIST files (gzipped) with `train` and `test` 28×28 images into `dir`. */
async function writeFashionMnist(dir: string, train: number, test: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const trainSet = imageSet(train, 28, 28, 10);
  const testSet = imageSet(test, 28, 28, 10);
  const contents = [trainSet.images, trainSet.labels, testSet.images, testSet.labels];
  await Promise.all(FASHION_MNIST_FILES.map(({ file }, i) => writeFile(join(dir, file), gzipSync(contents[i]))));
}

test('an unknown name is a RangeError listing the valid ones', async (t) => {
  await t.throwsAsync(loadDataset('mnist2' as DatasetSource), {
    instanceOf: RangeError,
    message: 'Expected one of "digits", "fashion-mnist" for dataset but received "mnist2" of type string',
  });
  await t.throwsAsync(loadDataset(42 as unknown as DatasetSource), {
    instanceOf: TypeError,
    message: 'Expected one of "digits", "fashion-mnist", { csv } or { idx } for dataset but received 42 of type number',
  });
  await t.throwsAsync(loadDataset({ parquet: 'x' } as unknown as DatasetSource), {
    instanceOf: TypeError,
    message: 'Expected one of "digits", "fashion-mnist", { csv } or { idx } for dataset but received an object',
  });
});

test('bad split options are rejected before any work', async (t) => {
  await t.throwsAsync(loadDataset('digits', { validationFraction: 1.5 }), {
    instanceOf: RangeError,
    message: 'Expected a number between 0 and 1 for validationFraction but received 1.5 of type number',
  });
  await t.throwsAsync(loadDataset('digits', { seed: -1 }), {
    instanceOf: RangeError,
    message: 'Expected an integer >= 0 for seed but received -1 of type number',
  });
  await t.throwsAsync(loadDataset('digits', { limit: 0 }), {
    instanceOf: RangeError,
    message: 'Expected an integer >= 1 for limit but received 0 of type number',
  });
  for (const options of [null, 5, 'seed']) {
    await t.throwsAsync(loadDataset('digits', options as never), { instanceOf: TypeError, message: `Expected an object for options but received ${describeValue(options)}` });
  }
  await t.throwsAsync(loadDataset('digits', { validationFraction: 1 }), {
    instanceOf: NasxError,
    message:
      'Cannot hold out a validation split with validationFraction 1: it would take 1438 of the 1438 ' +
      'training samples and leave none to train on',
  });
});

test('digits: 1,797 samples as 8×8×1 images, split train/validation/test', async (t) => {
  const digits = await loadDataset('digits');
  t.is(digits.name, 'digits');
  t.is(digits.task, 'classification');
  t.deepEqual(digits.inputShape, [8, 8, 1]);
  t.is(digits.outputSize, 10);
  t.deepEqual(digits.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  t.is(digits.normalization.scale, 1 / 16);
  t.is(digits.train.count + digits.validation.count + digits.test.count, 1797);
  t.is(digits.test.count, 359); // 20 % of 1797
  t.is(digits.validation.count, 144); // 10 % of the remaining 1438
  t.is(digits.train.count, 1294);
  for (const split of [digits.train, digits.validation, digits.test]) {
    t.is(split.x.length, split.count * 64);
    t.is(split.y.length, split.count);
    t.true(split.y instanceof Int32Array);
  }
  // Stratified: every class is represented in proportion (174–183 samples per class overall).
  for (const count of classCounts(digits.validation, 10)) t.true(count === 14 || count === 15, `${count}`);
  for (const count of classCounts(digits.test, 10)) t.true(count >= 34 && count <= 37, `${count}`);
});

test('digits is normalised with training statistics: train mean ≈ 0 and std ≈ 1', async (t) => {
  const digits = await loadDataset('digits', { seed: 3 });
  const train = stats(digits.train.x);
  t.true(Math.abs(train.mean[0]) < 1e-6, `${train.mean[0]}`);
  t.true(Math.abs(train.std[0] - 1) < 1e-6, `${train.std[0]}`);
  // The other splits use the same statistics, so they are close to but not exactly standardised.
  const test = stats(digits.test.x);
  t.not(test.mean[0], train.mean[0]);
  t.true(Math.abs(test.mean[0]) < 0.1);
});

test.serial('splits are deterministic under a seed and differ across seeds', async (t) => {
  const first = await loadDataset('digits', { seed: 7 });
  clearDatasetCache();
  const again = await loadDataset('digits', { seed: 7 });
  t.not(first, again); // decoded afresh, not served from the cache
  t.deepEqual(again.train.x, first.train.x);
  t.deepEqual(again.train.y, first.train.y);
  t.deepEqual(again.validation.y, first.validation.y);
  t.deepEqual(again.test.x, first.test.x);
  t.deepEqual(again.normalization, first.normalization);
  const other = await loadDataset('digits', { seed: 8 });
  t.is(other.validation.count, first.validation.count);
  t.notDeepEqual(other.validation.x, first.validation.x);
  t.notDeepEqual(other.test.x, first.test.x);
});

test('repeated loads of a built-in are served from memory', async (t) => {
  const options = { seed: 11, validationFraction: 0.15 };
  const first = await loadDataset('digits', options);
  t.is(await loadDataset('digits', { ...options }), first);
  t.not(await loadDataset('digits', { ...options, validationFraction: 0.2 }), first);
});

test('limit keeps a stratified subset of the training split; validation and test are unchanged', async (t) => {
  const full = await loadDataset('digits', { seed: 2 });
  const limited = await loadDataset('digits', { seed: 2, limit: 100 });
  t.is(limited.train.count, 100);
  t.is(limited.train.x.length, 100 * 64);
  for (const count of classCounts(limited.train, 10)) t.true(count === 9 || count === 10 || count === 11, `${count}`);
  t.deepEqual(limited.validation.y, full.validation.y);
  t.is(limited.test.count, full.test.count);
});

test('IDX sources: statistics come from the training split only', async (t) => {
  const dir = await tempDir(t);
  const train = new Uint8Array(40 * 4 * 4).map((_, i) => (i * 13) % 101); // values 0..100
  const test = new Uint8Array(10 * 4 * 4).map((_, i) => 200 + (i % 56)); // values 200..255
  const idx = {
    trainImages: join(dir, 'train-images'),
    trainLabels: join(dir, 'train-labels'),
    testImages: join(dir, 'test-images'),
    testLabels: join(dir, 'test-labels'),
  };
  await writeFile(idx.trainImages, idxBytes([40, 4, 4], train));
  await writeFile(idx.trainLabels, idxBytes([40], Array.from({ length: 40 }, (_, i) => i % 2)));
  await writeFile(idx.testImages, gzipSync(idxBytes([10, 4, 4], test)));
  await writeFile(idx.testLabels, idxBytes([10], Array.from({ length: 10 }, (_, i) => i % 2)));

  const data = await loadDataset({ idx, classNames: ['even', 'odd'] }, { validationFraction: 0 });
  t.is(data.name, 'train-images');
  t.deepEqual(data.classNames, ['even', 'odd']);
  t.is(data.train.count, 40);
  t.is(data.validation.count, 0);
  t.is(data.test.count, 10);
  const rawMean = train.reduce((a, b) => a + b, 0) / train.length / 255;
  t.true(Math.abs(data.normalization.mean[0] - rawMean) < 1e-12);
  const trainStats = stats(data.train.x);
  t.true(Math.abs(trainStats.mean[0]) < 1e-6);
  t.true(Math.abs(trainStats.std[0] - 1) < 1e-5);
  t.true(stats(data.test.x).mean[0] > 3); // far above the training mean: not re-standardised

  await t.throwsAsync(loadDataset({ idx: { ...idx, testLabels: undefined } }), {
    instanceOf: TypeError,
    message: 'Expected a file path (test images and labels go together) for dataset.idx.testLabels but received undefined',
  });
});

test('the training split is in a seeded random order, so a prefix is a random subset', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sorted.csv');
  // Sorted by class, as many CSV files are: 40 of class a, then 40 of b, then 40 of c.
  const rows = ['x,class', ...['a', 'b', 'c'].flatMap((c, k) => Array.from({ length: 40 }, (_, i) => `${k * 40 + i},${c}`))];
  await writeFile(path, rows.join('\n'));
  const data = await loadDataset({ csv: path }, { testFraction: 0.25, validationFraction: 0.1 });
  t.deepEqual(data.classNames, ['a', 'b', 'c']);
  t.deepEqual(classCounts(data.test, 3), [10, 10, 10]);
  t.deepEqual(classCounts(data.validation, 3), [3, 3, 3]);
  t.deepEqual(classCounts(data.train, 3), [27, 27, 27]);
  const prefix = { x: data.train.x, y: data.train.y.subarray(0, 15), count: 15 };
  t.true(classCounts(prefix, 3).every((count) => count > 0), `${[...prefix.y]}`);
  t.deepEqual([...data.test.y], [...data.test.y].sort()); // file order
});

test('CSV regression: targets are standardised with training statistics', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'house.csv');
  const lines = ['rooms,area,price,tax'];
  for (let i = 0; i < 50; i++) lines.push(`${1 + (i % 5)},${30 + i * 3},${100 + i * 7},${i % 3}`);
  await writeFile(path, lines.join('\n'));
  const data = await loadDataset(
    { csv: path, task: 'regression', labelColumn: ['price', 'tax'] },
    { seed: 4, testFraction: 0.2, validationFraction: 0.25 },
  );
  t.is(data.name, 'house.csv');
  t.is(data.task, 'regression');
  t.deepEqual(data.inputShape, [1, 1, 2]);
  t.is(data.outputSize, 2);
  t.deepEqual([data.train.count, data.validation.count, data.test.count], [30, 10, 10]);
  const features = stats(data.train.x, 2);
  const targets = stats(data.train.y as Float32Array, 2);
  for (const s of [features, targets]) {
    for (let c = 0; c < 2; c++) {
      t.true(Math.abs(s.mean[c]) < 1e-5, `${s.mean[c]}`);
      t.true(Math.abs(s.std[c] - 1) < 1e-5, `${s.std[c]}`);
    }
  }
  // Undoing the target normalisation of every split gives back exactly the prices in the file.
  const norm = data.targetNormalization!;
  const prices = [data.train, data.validation, data.test]
    .flatMap((split) => [...split.y].filter((_, i) => i % 2 === 0))
    .map((v) => Math.round(v * norm.std[0] + norm.mean[0]))
    .sort((a, b) => a - b);
  t.deepEqual(prices, Array.from({ length: 50 }, (_, i) => 100 + i * 7));
});

test.serial('fashion-mnist is found through NASX_DATA_DIR', async (t) => {
  const dir = await tempDir(t);
  await writeFashionMnist(join(dir, 'fashion-mnist'), 20, 10);
  const saved = process.env.NASX_DATA_DIR;
  process.env.NASX_DATA_DIR = dir;
  let data: Dataset;
  try {
    data = await loadDataset('fashion-mnist', { download: false });
  } finally {
    if (saved === undefined) delete process.env.NASX_DATA_DIR;
    else process.env.NASX_DATA_DIR = saved;
  }
  t.is(data.name, 'fashion-mnist');
  t.deepEqual(data.inputShape, [28, 28, 1]);
  t.deepEqual(data.classNames, [...FASHION_MNIST_CLASS_NAMES]);
  t.is(data.normalization.scale, 1 / 255);
  t.deepEqual([data.train.count, data.validation.count, data.test.count], [18, 2, 10]);
  t.deepEqual([...data.test.y], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // the data set's own test split, in order
});

test('fashion-mnist not found anywhere, download disabled: the error names the three ways to provide it', async (t) => {
  const [a, b, cache] = [await tempDir(t), await tempDir(t), await tempDir(t)];
  const error = await t.throwsAsync(
    loadDataset('fashion-mnist', { searchPaths: [a, b], cacheDir: cache, download: false }),
    { instanceOf: NasxError },
  );
  t.is(error.code, 'ERR_NASX_DATA_NOT_FOUND');
  t.is(
    error.message,
    'Fashion-MNIST was not found. Looked for train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ' +
      `t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in:\n  ${a}\n  ${b}\n` +
      'Download skipped (download: false).\n' +
      'Provide the files in one of three ways:\n' +
      '  - set NASX_DATA_DIR to a directory whose fashion-mnist/ subdirectory holds them;\n' +
      `  - put them in ${cache};\n` +
      '  - apt-get install dataset-fashion-mnist (installs them in /usr/share/datasets/fashion-mnist).',
  );
});

test('a failed download is part of the not-found error and leaves nothing behind', async (t) => {
  const tiny = idxBytes([1], [0]);
  const server = createServer((request, response) => {
    if (request.url!.startsWith('/missing/')) {
      response.writeHead(404).end();
    } else {
      response.end(gzipSync(tiny));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const [empty, cache] = [await tempDir(t), await tempDir(t)];

  const mismatch = await t.throwsAsync(
    loadDataset('fashion-mnist', { searchPaths: [empty], cacheDir: cache, downloadBaseUrl: `${base}/wrong/` }),
    { instanceOf: NasxError },
  );
  t.is(mismatch.code, 'ERR_NASX_DATA_NOT_FOUND');
  const actual = createHash('sha256').update(tiny).digest('hex');
  t.true(
    mismatch.message.includes(
      `\nDownloading from ${base}/wrong/ into ${cache} failed: checksum mismatch for ` +
        `${base}/wrong/train-images-idx3-ubyte.gz: expected SHA-256 ${FASHION_MNIST_FILES[0].sha256} of its ` +
        `contents but got ${actual}.\n`,
    ),
    mismatch.message,
  );

  const missing = await t.throwsAsync(
    loadDataset('fashion-mnist', { searchPaths: [empty], cacheDir: cache, downloadBaseUrl: `${base}/missing/` }),
    { instanceOf: NasxError },
  );
  t.true(
    missing.message.includes(
      `failed: GET ${base}/missing/train-images-idx3-ubyte.gz answered HTTP 404 Not Found.\n`,
    ),
    missing.message,
  );
  t.deepEqual(await readdir(cache), []);
});

const debianInstalled = existsSync(DEBIAN_FASHION_MNIST_DIR);
const withDebian = debianInstalled ? test : test.skip;
const skipNote = debianInstalled ? '' : ` (skipped: ${DEBIAN_FASHION_MNIST_DIR} is absent; apt-get install dataset-fashion-mnist)`;

withDebian(`the real Fashion-MNIST loads: 60,000 training and 10,000 test images${skipNote}`, async (t) => {
  const start = performance.now();
  const data = await loadDataset('fashion-mnist', { searchPaths: [DEBIAN_FASHION_MNIST_DIR] });
  t.log(`decoded, split and normalised in ${Math.round(performance.now() - start)} ms`);
  t.deepEqual(data.inputShape, [28, 28, 1]);
  t.is(data.outputSize, 10);
  t.is(data.train.count + data.validation.count, 60000);
  t.deepEqual([data.train.count, data.validation.count, data.test.count], [54000, 6000, 10000]);
  t.is(data.train.x.length, 54000 * 784);
  t.deepEqual(classCounts(data.validation, 10), new Array(10).fill(600)); // 6,000 per class upstream
  t.deepEqual(classCounts(data.test, 10), new Array(10).fill(1000));
  const train = stats(data.train.x);
  t.true(Math.abs(train.mean[0]) < 1e-4 && Math.abs(train.std[0] - 1) < 1e-4, JSON.stringify(train));
  const again = performance.now();
  t.is(await loadDataset('fashion-mnist', { searchPaths: [DEBIAN_FASHION_MNIST_DIR] }), data);
  t.true(performance.now() - again < 50);
});

withDebian(`fashion-mnist is downloaded, verified and renamed into the cache directory${skipNote}`, async (t) => {
  // A local server stands in for the upstream one (there is no network here); it serves the
  // Debian copies, whose contents are the upstream files.
  const server = createServer((request, response) => {
    createReadStream(join(DEBIAN_FASHION_MNIST_DIR, basename(request.url!)))
      .on('error', () => response.writeHead(404).end())
      .pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const [empty, cache] = [await tempDir(t), await tempDir(t)];
  const data = await loadDataset('fashion-mnist', {
    searchPaths: [empty],
    cacheDir: join(cache, 'fashion-mnist'),
    downloadBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    limit: 1000,
  });
  t.deepEqual([data.train.count, data.validation.count, data.test.count], [1000, 6000, 10000]);
  t.deepEqual((await readdir(join(cache, 'fashion-mnist'))).sort(), FASHION_MNIST_FILES.map((f) => f.file).sort());
});
