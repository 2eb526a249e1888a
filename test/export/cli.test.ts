import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../lib/util/package-root.js';
import { feedThroughFifo, startNasx } from '../nasx-run.js';

const bin = path.join(packageRoot(), 'bin', 'nasx.js');
const cnn = '{"type":"cnn","layers":[{"conv":8,"batchNorm":true,"activation":"gelu"},{"pool":"avg"},{"residual":[{"conv":16,"separable":true,"stride":2}]},{"globalPool":"avg"}]}';
const REPORT_KEYS = ['out', 'opset', 'maxAbsDiff', 'agreement', 'accuracyNative', 'accuracyOnnx', 'latencyMs'];

function nasx(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let model: string;
test.before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nasx-export-cli-'));
  model = path.join(dir, 'model.nasx');
  const r = nasx('train', '--arch', cnn, '--dataset', 'digits', '--epochs', '3', '--seed', '1', '--save', model);
  if (r.code !== 0) throw new Error(`train --save failed: ${r.stderr}`);
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('train --save writes a model file and says so', (t) => {
  t.true(existsSync(model));
  const again = path.join(dir, 'again.nasx');
  const r = nasx('train', '--arch', cnn, '--epochs', '1', '--save', again);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`model saved to ${again.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));
});

test('export --json prints { out, opset, maxAbsDiff, agreement, accuracyNative, accuracyOnnx, latencyMs }', (t) => {
  const out = path.join(dir, 'model.onnx');
  const r = nasx('export', model, '--out', out, '--json');
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(o), REPORT_KEYS);
  t.is(o.out, out);
  t.is(o.opset, 17);
  t.true(o.maxAbsDiff >= 0 && o.maxAbsDiff <= 1e-4);
  t.is(o.agreement, 1);
  t.is(o.accuracyNative, o.accuracyOnnx);
  t.deepEqual(Object.keys(o.latencyMs), ['batch1', 'batch32']);
  t.true(o.latencyMs.batch1 > 0 && o.latencyMs.batch32 > 0);
  t.true(existsSync(out));
  t.log(`maxAbsDiff ${o.maxAbsDiff}, latency batch 1 ${o.latencyMs.batch1} ms, batch 32 ${o.latencyMs.batch32} ms`);
});

test('export prints both figures and the latencies; --out defaults to the model name with .onnx', (t) => {
  const r = nasx('export', model);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^Validated with ONNX Runtime \d+\.\d+\.\d+ on 359 test samples of digits:\n/);
  t.regex(r.stdout, /\n {2}max \|onnx - native\| {2}\d\.\d\de[-+]\d+ \(tolerance 1e-4\)\n/);
  t.regex(r.stdout, /\n {2}class agreement {6}100\.00% \(359\/359\)\n/);
  t.regex(r.stdout, /\n {2}accuracy {13}native \d+\.\d\d%, onnx \d+\.\d\d%\n/);
  t.regex(r.stdout, /\n {2}latency \(median\) {5}batch 1: [\d.]+ (µs|ms), batch 32: [\d.]+ (µs|ms)\n/);
  t.true(r.stdout.endsWith(`Exported ${path.join(dir, 'model.onnx')} (ONNX opset 17)\n`));
});

test('a model that fails validation is reported with its figures, not written, and exits 1', (t) => {
  const first = JSON.parse(nasx('export', model, '--out', path.join(dir, 'probe.onnx'), '--json').stdout);
  t.true(first.maxAbsDiff > 0, 'this model differs by rounding, so a zero tolerance fails');
  const out = path.join(dir, 'strict.onnx');
  const r = nasx('export', model, '--out', out, '--json', '--tolerance', '0');
  t.is(r.code, 1);
  const o = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(o), REPORT_KEYS);
  t.is(o.out, null);
  t.is(o.maxAbsDiff, first.maxAbsDiff);
  t.regex(r.stderr, /^nasx: validation failed: largest \|onnx - native\| is \d\.\d\de-\d+, above the tolerance 0e\+0; .*strict\.onnx was not written\n$/);
  t.false(existsSync(out));
  const text = nasx('export', model, '--out', out, '--tolerance', '0');
  t.is(text.code, 1);
  t.regex(text.stdout, /\nValidation FAILED: largest \|onnx - native\| is .*, above the tolerance 0e\+0\. .*strict\.onnx was not written\.\n$/);
  t.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

/** `nasx export FIFO ...args`, the pipe fed with the model's bytes after `meanwhile` ran (see feedThroughFifo). */
async function exportThroughFifo(name: string, args: string[], meanwhile: () => void) {
  const fifo = path.join(dir, name);
  const run = await feedThroughFifo(fifo, readFileSync(model), () => startNasx('export', fifo, ...args), meanwhile);
  return { code: await run.exit, stdout: run.stdout, stderr: run.stderr };
}

test('export: when the final write fails, the validation is still reported, the error goes to stderr, exit 1', async (t) => {
  const sub = path.join(dir, 'vanishing');
  const out = path.join(sub, 'm.onnx');
  mkdirSync(sub);
  let r = await exportThroughFifo('fifo-json.nasx', ['--out', out, '--json'], () => rmSync(sub, { recursive: true }));
  t.is(r.code, 1);
  const o = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(o), REPORT_KEYS);
  t.is(o.out, null);
  t.is(o.agreement, 1);
  t.is(r.stderr, `nasx: Cannot write ${out}: the directory ${sub} does not exist\n`);

  mkdirSync(sub);
  r = await exportThroughFifo('fifo-text.nasx', ['--out', out], () => rmSync(sub, { recursive: true }));
  t.is(r.code, 1);
  t.regex(r.stdout, /^Validated with ONNX Runtime /);
  t.true(r.stdout.endsWith(`\nValidation passed, but ${out} was not written: the write failed\n`), r.stdout);
  t.is(r.stderr, `nasx: Cannot write ${out}: the directory ${sub} does not exist\n`);
});

test('export --no-validate writes the file without running ONNX Runtime', (t) => {
  const out = path.join(dir, 'unchecked.onnx');
  const r = nasx('export', model, '--out', out, '--no-validate', '--json');
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { out, opset: 17, maxAbsDiff: null, agreement: null, accuracyNative: null, accuracyOnnx: null, latencyMs: null });
  t.true(existsSync(out));
});

test('export: bad input gets clear errors', (t) => {
  const corrupt = path.join(dir, 'corrupt.nasx');
  writeFileSync(corrupt, 'NASXMODL\u0001\u0000\u0000\u0000garbage-garbage');
  let r = nasx('export', corrupt);
  t.is(r.code, 1);
  t.regex(r.stderr, /^nasx: .*corrupt\.nasx is corrupt: its checksum does not match \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): it was truncated or changed after it was written\n$/);
  r = nasx('export');
  t.is(r.code, 2);
  t.is(r.stderr, 'nasx: A model file is required: nasx export MODEL.nasx --out FILE.onnx\n');
  const noDir = path.join(dir, 'missing', 'm.onnx');
  r = nasx('export', model, '--out', noDir);
  t.is(r.code, 2, 'refused before the export, as a usage error');
  t.is(r.stderr, `nasx: Cannot write --out ${noDir}: the directory ${path.dirname(noDir)} does not exist\n`);
  t.is(r.stdout, '');
  r = nasx('export', model, '--out', dir);
  t.is(r.code, 2);
  t.is(r.stderr, `nasx: Cannot write --out ${dir}: it is not a regular file (a directory)\n`);
  r = nasx('export', model, '--opset', '12');
  t.is(r.code, 2);
  t.is(r.stderr, 'nasx: Expected an integer between 17 and 21 for --opset but received "12"\n');
  r = nasx('train', '--candidates', path.join(dir, 'x.jsonl'), '--save', path.join(dir, 'x.nasx'));
  t.is(r.code, 2);
  t.is(r.stderr, 'nasx: --save needs a single architecture (--arch), not --candidates\n');
});

test('search --export retrains the best, exports and validates it; --max-latency-ms marks slow candidates invalid', (t) => {
  const out = path.join(dir, 'best.onnx');
  let r = nasx('search', '--budget', '4', '--parallel', '2', '--epochs', '3', '--export', out, '--json');
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(o.export), REPORT_KEYS);
  t.is(o.export.out, out);
  t.is(o.export.agreement, 1);
  // Training is deterministic: the retrained model reaches the searched one's test accuracy.
  t.is(o.export.accuracyNative, o.best.metrics.testAccuracy);
  t.true(existsSync(out));

  r = nasx('search', '--budget', '2', '--parallel', '2', '--epochs', '1', '--max-latency-ms', '0.000001', '--json');
  t.is(r.code, 1, 'no candidate is within the limit, so there is no best');
  const s = JSON.parse(r.stdout);
  t.is(s.best, null);
  for (const h of s.history) {
    t.is(h.status, 'invalid');
    t.is(typeof h.metrics.latencyMs, 'number');
    t.regex(h.error, /^ONNX Runtime latency \d+\.\d{3} ms \(batch 1, median\) is over the limit of 0\.000001 ms$/);
  }
});

test('search --max-params marks larger candidates invalid without training them', (t) => {
  const r = nasx('search', '--budget', '3', '--epochs', '1', '--max-params', '100', '--json');
  t.is(r.code, 1, 'no candidate of the default space has at most 100 parameters, so there is no best');
  const s = JSON.parse(r.stdout);
  t.is(s.best, null);
  t.is(s.history.length, 3);
  for (const h of s.history) {
    t.is(h.status, 'invalid');
    t.regex(h.error, /^the architecture has \d+ parameters, over the limit of 100 \(maxParams\)$/);
  }
  const bad = nasx('search', '--max-params', '1.5');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--max-params/);
});
