import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../lib/util/package-root.js';

const bin = path.join(packageRoot(), 'bin', 'nasx.js');
const mlp = '{"type":"mlp","layers":[{"units":32}]}';

function nasx(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('train --arch --json prints one JSON object with the documented fields', (t) => {
  const r = nasx('train', '--arch', mlp, '--dataset', 'digits', '--epochs', '2', '--json', '--seed', '1');
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 1);
  const o = JSON.parse(lines[0]!);
  t.deepEqual(Object.keys(o), ['arch', 'params', 'flops', 'metrics', 'seconds', 'samplesPerSecond', 'status']);
  t.deepEqual(o.arch, JSON.parse(mlp));
  t.is(o.status, 'ok');
  t.is(o.params, 64 * 32 + 32 + 32 * 10 + 10);
  for (const k of ['trainLoss', 'valAccuracy', 'testAccuracy']) t.is(typeof o.metrics[k], 'number');
  t.true(o.metrics.testAccuracy > 0 && o.metrics.testAccuracy <= 1);
  t.true(o.seconds > 0 && o.samplesPerSecond > 0);
});

test('train --candidates trains every line at once and prints results in input order', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.jsonl');
  const archs = [
    { type: 'mlp', layers: [{ units: 16 }] },
    { type: 'cnn', layers: [{ conv: 8 }, { pool: 'max' }, { globalPool: 'avg' }] },
    { type: 'mlp', layers: [{ units: 0 }] },
  ];
  writeFileSync(file, `${archs.map((a) => JSON.stringify(a)).join('\n')}\n\n`);
  const r = nasx('train', '--candidates', file, '--epochs', '1', '--json');
  t.is(r.code, 1, 'one candidate is invalid');
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(out.length, 3);
  out.forEach((o, i) => t.deepEqual(o.arch, archs[i]));
  t.deepEqual(out.map((o) => o.status), ['ok', 'ok', 'invalid']);
  t.is(out[2].error, 'Expected an integer between 1 and 1048576 for archs[2].layers[0].units but received 0 of type number');
});

test('train without --json prints a table', (t) => {
  const r = nasx('train', '--arch', mlp, '--epochs', '1');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /#\s+status\s+params\s+FLOPs\s+train loss\s+val acc\s+test acc\s+time\s+samples\/s/);
  t.regex(r.stdout, /1\s+ok\s+2410\s+4768/);
  t.regex(r.stderr, /candidate 1\/1 {2}epoch 1\/1 {2}train loss/);
});

const usageErrors: [string, string[], string][] = [
  ['no architecture', ['train'], 'One of --arch or --candidates is required (see nasx train --help)'],
  ['both --arch and --candidates', ['train', '--arch', mlp, '--candidates', 'x.jsonl'], 'Use either --arch or --candidates, not both'],
  ['--epochs 0', ['train', '--arch', mlp, '--epochs', '0'], 'Expected an integer between 1 and 100000 for --epochs but received "0"'],
  ['--epochs abc', ['train', '--arch', mlp, '--epochs', 'abc'], 'Expected an integer between 1 and 100000 for --epochs but received "abc"'],
  ['--batch-size 1.5', ['train', '--arch', mlp, '--batch-size', '1.5'], 'Expected an integer between 1 and 65536 for --batch-size but received "1.5"'],
  ['--lr -1', ['train', '--arch', mlp, '--lr=-1'], 'Expected a number greater than 0 and at most 10 for --lr but received "-1"'],
  ['--optimizer adam', ['train', '--arch', mlp, '--optimizer', 'adam'], 'Expected one of "adamw", "sgd" for --optimizer but received "adam"'],
  ['--threads 0', ['train', '--arch', mlp, '--threads', '0'], 'Expected an integer between 1 and 1024 for --threads but received "0"'],
  ['--data-fraction 0', ['train', '--arch', mlp, '--data-fraction', '0'], 'Expected a number greater than 0 and at most 1 for --data-fraction but received "0"'],
  ['--resolution -2', ['train', '--arch', mlp, '--resolution=-2'], 'Expected an integer between 0 and 4096 for --resolution but received "-2"'],
  ['--seed -1', ['train', '--arch', mlp, '--seed=-1'], 'Expected an integer >= 0 for --seed but received "-1"'],
  ['negative value without =', ['train', '--arch', mlp, '--seed', '-1'], 'Flag --seed has a value starting with "-"; write it as --seed=VALUE'],
  ['unknown data set', ['train', '--arch', mlp, '--dataset', 'mnist2'], 'Expected one of "digits", "fashion-mnist", "FILE.csv" for --dataset but received "mnist2"'],
  ['unknown flag', ['train', '--arch', mlp, '--fast'], 'Unknown flag --fast; known flags are --arch, --candidates, --dataset, --task, --label, --epochs, --batch-size, --lr, --optimizer, --seed, --threads, --data-fraction, --resolution, --json, --help'],
  ['missing flag value', ['train', '--arch'], 'Flag --arch needs a value'],
  ['missing arch file', ['train', '--arch', 'nope.json'], '--arch is neither JSON nor an existing file: "nope.json"'],
  ['missing candidates file', ['train', '--candidates', 'nope.jsonl'], 'Candidates file not found for --candidates: nope.jsonl'],
  ['unknown architecture type', ['train', '--arch', '{"type":"rnn"}'], 'Expected one of "mlp", "cnn", "graph" for --arch.type but received "rnn" of type string'],
  ['unknown layer field', ['train', '--arch', '{"type":"mlp","layers":[{"units":8,"width":3}]}'], 'Unknown field "width" in --arch.layers[0]; allowed fields are "units", "activation", "dropout", "batchNorm", "residual"'],
  ['--task on a built-in', ['train', '--arch', mlp, '--task', 'regression'], '--task and --label apply to CSV data sets only (--dataset FILE.csv)'],
  ['unknown command', ['fly'], 'Unknown command "fly"; commands are train, info'],
];

for (const [name, args, message] of usageErrors) {
  test(`usage error: ${name}`, (t) => {
    const r = nasx(...args);
    t.is(r.code, 2);
    t.is(r.stderr, `nasx: ${message}\n`);
    t.is(r.stdout, '');
  });
}

test('malformed JSON is a usage error naming the flag', (t) => {
  const r = nasx('train', '--arch', '{"type":"mlp",');
  t.is(r.code, 2);
  t.regex(r.stderr, /^nasx: --arch is not valid JSON: .+\n$/);
});

test('info reports the build', (t) => {
  const r = nasx('info');
  t.is(r.code, 0);
  const o = JSON.parse(r.stdout);
  t.true(['avx512', 'avx2', 'portable'].includes(o.gemmIsa));
  t.true(o.hardwareThreads >= 1);
  t.true(Array.isArray(o.cudaDevices));
});

test('Ctrl-C (SIGINT) during train stops cleanly and still prints what was gathered', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [bin, 'train', '--arch', mlp, '--epochs', '100000', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  // Let training start, then interrupt.
  await new Promise((r) => setTimeout(r, 2500));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 130);
  const o = JSON.parse(stdout.trim());
  t.is(o.status, 'cancelled');
  t.deepEqual(o.arch, JSON.parse(mlp));
});
