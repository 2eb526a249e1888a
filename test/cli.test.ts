import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../lib/util/package-root.js';
import { strategyNames } from '../lib/strategies/registry.js';
import { feedThroughFifo, startNasx, waitForStderr } from './nasx-run.js';

const bin = path.join(packageRoot(), 'bin', 'nasx.js');
const mlp = '{"type":"mlp","layers":[{"units":32}]}';

function nasx(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small classification CSV: 60 rows, 2 features, 2 classes. */
function csvText(): string {
  const rows = ['a,b,label'];
  for (let i = 0; i < 60; i++) rows.push(`${i % 7},${(i * 3) % 11},${i % 3 === 0 ? 'x' : 'y'}`);
  return `${rows.join('\n')}\n`;
}

function tempDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Root may read and write anywhere, so permission errors can only be seen as another user.
const asUser = process.getuid?.() === 0 ? test.skip : test;

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

test('train --inherit: --epochs 0 evaluates the inherited child (the parent\'s metrics); --json includes the report', (t) => {
  const dir = tempDir(t, 'nasx-inherit-');
  const model = path.join(dir, 'parent.nasx');
  const parent = nasx('train', '--arch', mlp, '--epochs', '3', '--lr', '0.01', '--save', model, '--json');
  t.is(parent.code, 0, parent.stderr);
  const p = JSON.parse(parent.stdout.trim().split('\n')[0]!);
  const child = '{"type":"mlp","layers":[{"units":48},{"units":48}]}';
  const r = nasx('train', '--arch', child, '--inherit', model, '--epochs', '0', '--json');
  t.is(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout.trim());
  t.is(c.metrics.valAccuracy, p.metrics.valAccuracy);
  t.is(c.metrics.trainLoss, null);
  t.true(c.inheritance.functionPreserving);
  t.deepEqual(
    c.inheritance.params.map((x: { tensor: string; how: string }) => `${x.tensor} ${x.how}`),
    ['layers[0].weight widen', 'layers[0].bias widen', 'layers[1].weight identity', 'layers[1].bias identity', 'output.weight widen', 'output.bias copy'],
  );
  const table = nasx('train', '--arch', child, '--inherit', model, '--epochs', '1');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /candidate 1 inherited: 3 widen, 2 identity, 1 copy \(function-preserving\)/);
  t.regex(table.stderr, /Inheriting from .*parent\.nasx \(val accuracy/);
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
  ['--epochs -1', ['train', '--arch', mlp, '--epochs=-1'], 'Expected an integer between 0 and 100000 for --epochs but received "-1"'],
  ['--epochs abc', ['train', '--arch', mlp, '--epochs', 'abc'], 'Expected an integer between 0 and 100000 for --epochs but received "abc"'],
  ['missing --inherit model', ['train', '--arch', mlp, '--inherit', 'nope.nasx'], 'Model file not found for --inherit: nope.nasx'],
  ['--batch-size 1.5', ['train', '--arch', mlp, '--batch-size', '1.5'], 'Expected an integer between 1 and 65536 for --batch-size but received "1.5"'],
  ['--lr -1', ['train', '--arch', mlp, '--lr=-1'], 'Expected a number greater than 0 and at most 10 for --lr but received "-1"'],
  ['--optimizer adam', ['train', '--arch', mlp, '--optimizer', 'adam'], 'Expected one of "adamw", "sgd" for --optimizer but received "adam"'],
  ['--threads 0', ['train', '--arch', mlp, '--threads', '0'], 'Expected an integer between 1 and 1024 for --threads but received "0"'],
  ['--data-fraction 0', ['train', '--arch', mlp, '--data-fraction', '0'], 'Expected a number greater than 0 and at most 1 for --data-fraction but received "0"'],
  ['--resolution -2', ['train', '--arch', mlp, '--resolution=-2'], 'Expected an integer between 0 and 4096 for --resolution but received "-2"'],
  ['--seed -1', ['train', '--arch', mlp, '--seed=-1'], 'Expected an integer >= 0 for --seed but received "-1"'],
  ['negative value without =', ['train', '--arch', mlp, '--seed', '-1'], 'Flag --seed has a value starting with "-"; write it as --seed=VALUE'],
  ['unknown data set', ['train', '--arch', mlp, '--dataset', 'mnist2'], 'Expected one of "digits", "fashion-mnist", "FILE.csv" for --dataset but received "mnist2"'],
  ['unknown flag', ['train', '--arch', mlp, '--fast'], 'Unknown flag --fast; known flags are --arch, --candidates, --dataset, --task, --label, --epochs, --batch-size, --lr, --optimizer, --seed, --threads, --max-memory, --data-fraction, --resolution, --save, --inherit, --json, --help'],
  ['--max-memory 12x', ['train', '--arch', mlp, '--max-memory', '12x'], 'Expected a size in bytes of at least 1048576 (e.g. 512M, 4G, 1.5GiB) for --max-memory but received "12x"'],
  ['--max-memory below 1 MiB', ['train', '--arch', mlp, '--max-memory', '512K'], 'Expected a size in bytes of at least 1048576 (e.g. 512M, 4G, 1.5GiB) for --max-memory but received "512K"'],
  ['missing flag value', ['train', '--arch'], 'Flag --arch needs a value'],
  ['missing arch file', ['train', '--arch', 'nope.json'], '--arch is neither JSON nor an existing file: "nope.json"'],
  ['missing candidates file', ['train', '--candidates', 'nope.jsonl'], 'Candidates file not found for --candidates: nope.jsonl'],
  ['unknown architecture type', ['train', '--arch', '{"type":"rnn"}'], 'Expected one of "mlp", "cnn", "graph" for --arch.type but received "rnn" of type string'],
  ['unknown layer field', ['train', '--arch', '{"type":"mlp","layers":[{"units":8,"width":3}]}'], 'Unknown field "width" in --arch.layers[0]; allowed fields are "units", "activation", "dropout", "batchNorm", "residual"'],
  ['--task on a built-in', ['train', '--arch', mlp, '--task', 'regression'], '--task and --label apply to CSV data sets only (--dataset FILE.csv)'],
  ['unknown command', ['fly'], 'Unknown command "fly"; commands are search, bench, train, export, tabulate, proxy, studies, report, explain, info'],
  ['--save into a missing directory', ['train', '--arch', mlp, '--save', '/nonexistent/m.nasx'], 'Cannot write --save /nonexistent/m.nasx: the directory /nonexistent does not exist'],
  ['search --out into a missing directory', ['search', '--out', '/nonexistent/x.json'], 'Cannot write --out /nonexistent/x.json: the directory /nonexistent does not exist'],
  ['search --export into a missing directory', ['search', '--export', '/nonexistent/best.onnx'], 'Cannot write --export /nonexistent/best.onnx: the directory /nonexistent does not exist'],
];

for (const [name, args, message] of usageErrors) {
  test(`usage error: ${name}`, (t) => {
    const r = nasx(...args);
    t.is(r.code, 2);
    t.is(r.stderr, `nasx: ${message}\n`);
    t.is(r.stdout, '');
  });
}

test('--arch or --candidates naming a directory is a usage error, not a stack trace', (t) => {
  const dir = tempDir(t, 'nasx-cli-');
  for (const [flag, what] of [['--arch', 'an architecture file'], ['--candidates', 'a candidates file']]) {
    const r = nasx('train', flag!, dir);
    t.is(r.code, 2);
    t.is(r.stderr, `nasx: ${flag} is a directory, not ${what}: ${dir}\n`);
    t.is(r.stdout, '');
  }
});

asUser('an unreadable --arch or --candidates file is a usage error', (t) => {
  const dir = tempDir(t, 'nasx-cli-');
  const file = path.join(dir, 'locked.json');
  writeFileSync(file, mlp);
  chmodSync(file, 0o000);
  for (const flag of ['--arch', '--candidates']) {
    const r = nasx('train', flag, file);
    t.is(r.code, 2);
    t.is(r.stderr, `nasx: ${flag} cannot be read (permission denied): ${file}\n`);
  }
});

test('output paths that are not regular files are refused before any work', (t) => {
  const dir = tempDir(t, 'nasx-cli-');
  spawnSync('mkfifo', [path.join(dir, 'pipe')]);
  const cases: [string[], string][] = [
    [['search', '--out', dir], `Cannot write --out ${dir}: it is not a regular file (a directory)`],
    [['search', '--export', path.join(dir, 'pipe')], `Cannot write --export ${path.join(dir, 'pipe')}: it is not a regular file (a FIFO)`],
    [['train', '--arch', mlp, '--save', dir], `Cannot write --save ${dir}: it is not a regular file (a directory)`],
  ];
  for (const [args, message] of cases) {
    const r = nasx(...args);
    t.is(r.code, 2, args.join(' '));
    t.is(r.stderr, `nasx: ${message}\n`);
    t.is(r.stdout, '');
  }
});

test('train --save: when the final write fails, the results are still printed, the error goes to stderr, exit 1', async (t) => {
  const dir = tempDir(t, 'nasx-cli-');
  const sub = path.join(dir, 'sub');
  mkdirSync(sub);
  const save = path.join(sub, 'm.nasx');
  const run = await feedThroughFifo(
    path.join(dir, 'data.csv'),
    csvText(),
    () => startNasx('train', '--arch', mlp, '--dataset', path.join(dir, 'data.csv'), '--epochs', '1', '--save', save, '--json'),
    () => rmSync(sub, { recursive: true }), // --save was checked; its directory goes before the training ends
  );
  t.is(await run.exit, 1);
  const o = JSON.parse(run.stdout);
  t.is(o.status, 'ok');
  t.deepEqual(o.arch, JSON.parse(mlp));
  t.is(run.stderr, `nasx: Cannot write ${save}: the directory ${sub} does not exist\n`);
});

test('search --out: when the final write fails, the results are still printed, the error goes to stderr, exit 1', async (t) => {
  const dir = tempDir(t, 'nasx-cli-');
  const sub = path.join(dir, 'sub');
  mkdirSync(sub);
  const out = path.join(sub, 'results.json');
  const run = await feedThroughFifo(
    path.join(dir, 'data.csv'),
    csvText(),
    () => startNasx('search', '--dataset', path.join(dir, 'data.csv'), '--budget', '2', '--parallel', '2', '--epochs', '1', '--out', out, '--json'),
    () => rmSync(sub, { recursive: true }),
  );
  t.is(await run.exit, 1);
  const o = JSON.parse(run.stdout);
  t.is(o.status, 'done');
  t.is(o.history.length, 2);
  t.is(run.stderr, `nasx: Cannot write ${out}: the directory ${sub} does not exist\n`);
});

test('search: interrupted with an --out that can no longer be written, the table is still printed and the exit status is 1', async (t) => {
  const dir = tempDir(t, 'nasx-cli-');
  const sub = path.join(dir, 'sub');
  mkdirSync(sub);
  const out = path.join(sub, 'partial.json');
  const run = startNasx('search', '--budget', '100000', '--parallel', '1', '--epochs', '1', '--out', out);
  await waitForStderr(run, /^#1 /m);
  rmSync(sub, { recursive: true });
  run.child.kill('SIGTERM');
  t.is(await run.exit, 1);
  t.regex(run.stdout, /^rank +val acc +test acc +params +FLOPs +time +architecture *\n/);
  t.regex(run.stdout, /\n\d+ evaluations \(0 not ok\) in [\dhms.]+; status interrupted\n/);
  t.true(run.stderr.endsWith(`nasx: Cannot write ${out}: the directory ${sub} does not exist\n`), run.stderr);
  t.false(existsSync(out));
});

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

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const;

for (const [signal, status] of SIGNALS) {
  test(`${signal} during train stops after the current step and still prints what was gathered (exit ${status})`, async (t) => {
    const run = startNasx('train', '--arch', mlp, '--epochs', '100000');
    await waitForStderr(run, /epoch 1\/100000/);
    run.child.kill(signal);
    t.is(await run.exit, status);
    t.regex(run.stderr, /\nInterrupted: stopping after the current step\.\.\.\n/);
    t.regex(run.stdout, /^# +status +params/);
    t.regex(run.stdout, /\n1 +cancelled +2410 +4768 +\d+\.\d{4} +\d+\.\d\d% +- /);
  });
}
test('search --json: best, history, strategy, space, seed, budget; --out writes the same', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-search-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'results.json');
  const r = nasx('search', '--budget', '6', '--parallel', '3', '--epochs', '2', '--seed', '1', '--json', '--out', out);
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(o), ['best', 'history', 'strategy', 'space', 'seed', 'budget', 'status', 'seconds']);
  t.is(o.strategy, 'evolution');
  t.is(o.space, 'mlp');
  t.is(o.seed, 1);
  t.deepEqual(o.budget, { evaluations: 6 });
  t.is(o.history.length, 6);
  for (const h of o.history) {
    t.deepEqual(Object.keys(h).slice(0, 5), ['arch', 'hash', 'metrics', 'status', 'seconds']);
    t.is(h.arch.type, 'mlp');
  }
  t.is(new Set(o.history.map((h: { hash: string }) => h.hash)).size, 6);
  const bestScore = Math.max(...o.history.map((h: { metrics: { score: number } }) => h.metrics.score));
  t.is(o.best.metrics.score, bestScore);
  t.true(o.best.params > 0);
  const written = JSON.parse(readFileSync(out, 'utf8'));
  t.deepEqual(written.history.map((h: { hash: string }) => h.hash), o.history.map((h: { hash: string }) => h.hash));
});

for (const [signal, status] of SIGNALS) {
  test(`search: ${signal} stops after the current step and still writes the results gathered so far (exit ${status})`, async (t) => {
    const dir = tempDir(t, 'nasx-search-');
    const out = path.join(dir, 'partial.json');
    const run = startNasx('search', '--budget', '100000', '--parallel', '1', '--epochs', '1', '--out', out);
    await waitForStderr(run, /^#1 /m);
    run.child.kill(signal);
    t.is(await run.exit, status);
    t.regex(run.stderr, /\nInterrupted: finishing the current step, then writing the results gathered so far\.\.\.\n/);
    const o = JSON.parse(readFileSync(out, 'utf8'));
    t.is(o.status, 'interrupted');
    t.true(o.history.length >= 1);
    t.true(o.history.length < 100000);
    t.regex(run.stdout, new RegExp(`; status interrupted; results written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
  });
}

test('bench --json: per-strategy test mean and std, validation mean and curve', (t) => {
  const r = nasx('bench', '--benchmark', 'nb201/cifar10', '--strategies', 'random,evolution', '--seeds', '5', '--budget', '30', '--json');
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  t.is(o.benchmark, 'nb201/cifar10');
  t.is(o.budget, 30);
  t.is(o.seeds, 5);
  t.deepEqual(o.results.map((x: { strategy: string }) => x.strategy), ['random', 'evolution']);
  for (const s of o.results) {
    t.true(s.testMean > 85 && s.testMean <= 94.37);
    t.true(s.testStd >= 0);
    t.is(s.curve.length, 30);
    t.true(s.curve.every((v: number, i: number) => i === 0 || v >= s.curve[i - 1]));
    t.is(s.curve[29], s.validMean);
  }
});

test('train --candidates: a candidate too big for memory is oom with its estimate and the budget; the others train', (t) => {
  const dir = tempDir(t, 'nasx-oom-');
  const file = path.join(dir, 'c.jsonl');
  const archs = [{ type: 'mlp', layers: [{ units: 16 }] }, { type: 'mlp', layers: [{ units: 1048576 }] }, { type: 'mlp', layers: [{ units: 8 }] }];
  writeFileSync(file, archs.map((a) => JSON.stringify(a)).join('\n'));
  const r = nasx('train', '--candidates', file, '--batch-size', '65536', '--max-memory', '4G', '--json');
  t.is(r.code, 1, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(out.map((o) => o.status), ['ok', 'oom', 'ok']);
  t.regex(out[1].error, /^needs an estimated [\d.]+ [GT]iB \(\d+ bytes\) to train at batch size 65536, more than the memory budget of 4\.0 GiB \(4294967296 bytes; maxMemory\)$/);
});

test('search: candidates over --max-memory are oom and the search goes on to its budget', (t) => {
  // 3 MiB admits the space's small MLPs and refuses the wide ones.
  const r = nasx('search', '--budget', '12', '--epochs', '1', '--parallel', '1', '--seed', '3', '--max-memory', '3M', '--json');
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  t.is(o.status, 'done');
  t.is(o.history.length, 12);
  const statuses = new Set(o.history.map((h: { status: string }) => h.status));
  t.deepEqual([...statuses].sort(), ['ok', 'oom']);
  for (const h of o.history.filter((x: { status: string }) => x.status === 'oom')) t.regex(h.error, /more than the memory budget of 3\.0 MiB/);
});

test('search --time stops the running batch when it runs out, keeping what finished', (t) => {
  // 100,000 epochs per candidate would take hours; the time budget ends the batch instead.
  const r = nasx('search', '--time', '3', '--epochs', '100000', '--budget', '4', '--json');
  t.is(r.code, 1, 'no candidate finished, so there is no best architecture');
  const o = JSON.parse(r.stdout);
  t.is(o.status, 'done');
  t.deepEqual(o.history, []);
  t.true(o.seconds >= 3 && o.seconds < 30, `${o.seconds} s`);
});

test('search --scheduler hyperband: promotions continue earlier trials, the epoch budget holds, per-trial output has no test figures', (t) => {
  const r = nasx('search', '--scheduler', 'hyperband', '--max-epochs', '9', '--budget-epochs', '60', '--parallel', '4', '--seed', '2', '--json');
  t.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  const spent = o.history.reduce((a: number, h: { epochsTrained: number }) => a + h.epochsTrained, 0);
  t.true(spent <= 60 && spent > 40, `${spent} epochs`);
  t.deepEqual([...new Set(o.history.map((h: { epochs: number }) => h.epochs))].sort((a, b) => (a as number) - (b as number)), [1, 3, 9]);
  const promoted = o.history.filter((h: { promotedFrom?: number }) => h.promotedFrom !== undefined);
  t.true(promoted.length > 0);
  for (const p of promoted) {
    t.is(o.history[p.promotedFrom].hash, p.hash);
    t.is(p.epochsTrained, p.epochs - o.history[p.promotedFrom].epochs);
  }
  for (const h of o.history) t.false(Object.keys(h.metrics).some((k) => k.startsWith('test')), 'no test figure per trial');
  t.is(typeof o.best.metrics.testAccuracy, 'number');
});

const schedulerErrors: [string, string[], string][] = [
  ['unknown scheduler', ['search', '--scheduler', 'pbt'], 'Expected one of "none", "sh", "hyperband", "asha", "bohb", "median" for --scheduler but received "pbt"'],
  ['--min-epochs without a scheduler', ['search', '--min-epochs', '2'], '--min-epochs, --max-epochs and --eta apply to a --scheduler (sh, hyperband, asha, bohb, median)'],
  ['--epochs and --max-epochs disagree', ['search', '--scheduler', 'sh', '--epochs', '9', '--max-epochs', '27'], '--epochs (9) and --max-epochs (27) disagree; give one'],
  ['--min-epochs above the maximum', ['search', '--scheduler', 'sh', '--max-epochs', '3', '--min-epochs', '9'], 'Expected --min-epochs to be at most the maximum epochs (3) but received "9"'],
  ['--eta 1', ['search', '--scheduler', 'asha', '--eta', '1'], 'Expected an integer between 2 and 100 for --eta but received "1"'],
];
for (const [name, args, message] of schedulerErrors) {
  test(`usage error: ${name}`, (t) => {
    const r = nasx(...args);
    t.is(r.code, 2);
    t.is(r.stderr, `nasx: ${message}\n`);
  });
}

const strategyList = strategyNames().map((n) => JSON.stringify(n)).join(', ');
const searchErrors: [string, string[], string][] = [
  ['unknown space', ['search', '--space', 'rnn'], 'Expected one of "mlp", "cnn", "nb201", "FILE.json" for --space but received "rnn"'],
  ['unknown strategy', ['search', '--strategy', 'annealing'], `Expected one of ${strategyList} for --strategy but received "annealing"`],
  ['budget 0', ['search', '--budget', '0'], 'Expected an integer between 1 and 1000000 for --budget but received "0"'],
  ['negative budget', ['search', '--budget=-3'], 'Expected an integer between 1 and 1000000 for --budget but received "-3"'],
  ['missing space file', ['search', '--space', 'nope.json'], 'Space file not found for --space: nope.json'],
  ['unknown benchmark', ['bench', '--benchmark', 'nb201/mnist'], 'Expected one of "nb201/cifar10", "nb201/cifar100", "nb201/imagenet16" for --benchmark but received "nb201/mnist"'],
  ['unknown bench strategy', ['bench', '--strategies', 'random,annealing'], `Expected one of ${strategyList} for --strategies but received "annealing"`],
  ['bench seeds 0', ['bench', '--seeds', '0'], 'Expected an integer between 1 and 100000 for --seeds but received "0"'],
];
for (const [name, args, message] of searchErrors) {
  test(`usage error: ${name}`, (t) => {
    const r = nasx(...args);
    t.is(r.code, 2);
    t.is(r.stderr, `nasx: ${message}\n`);
  });
}

test('search: a malformed space file is reported with its path', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-space-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'space.json');
  writeFileSync(file, '{"name":"s","type":"mlp","params":{"layers":{"repeat":{"units":{"choice":[]}},"count":[1]}}}');
  const r = nasx('search', '--space', file);
  t.is(r.code, 1);
  t.regex(r.stderr, /^nasx: .*space\.json: .+\n$/);
});

test('bench --plot draws an SVG with one line per strategy; .png works too; other extensions are refused', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-plot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const svg = path.join(dir, 'plot.svg');
  const r = nasx('bench', '--strategies', 'random,evolution', '--seeds', '4', '--budget', '40', '--plot', svg);
  t.is(r.code, 0, r.stderr);
  const text = readFileSync(svg, 'utf8');
  t.true(text.startsWith('<svg'));
  for (const s of ['random', 'evolution', 'nb201/cifar10', 'queries']) t.true(text.includes(s), `${s} missing from the plot`);
  const png = path.join(dir, 'plot.png');
  t.is(nasx('bench', '--strategies', 'random', '--seeds', '2', '--budget', '20', '--plot', png).code, 0);
  t.deepEqual([...readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const bad = nasx('bench', '--seeds', '2', '--plot', path.join(dir, 'plot.pdf'));
  t.is(bad.code, 2);
  t.is(bad.stderr, `nasx: Expected a file name ending in .svg or .png for --plot but received ${JSON.stringify(path.join(dir, 'plot.pdf'))}\n`);
});
