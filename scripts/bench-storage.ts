/**
 * Trial writes per second through the Storage API, in the pattern a Study worker follows per batch of
 * n trials: transaction 1 reads the serial state, claims (pending or stale trials), inserts n running
 * trials and writes the state (a strategy state of a few KB that grows with the study); transaction 2
 * reads the state, finishes the n trials with a result of about 1 KB each and writes the state. Run for
 * SQLite (one process, WAL; synchronous NORMAL, the default, and FULL) and PostgreSQL with one process and with 4 worker
 * processes on one study (each its own PostgresStorage), with n = 1 (the worst case) and n = 8.
 * PostgreSQL is run twice: durable (each COMMIT waits for its WAL flush, as SQLite's FULL waits for its
 * fsync) and with `synchronous_commit = off` for its sessions (a crash may lose the last commits, never
 * consistency), which shows what the disk costs against what the round trips cost.
 *
 * PostgreSQL is the server at --postgres (or NASX_BENCH_POSTGRES_URL), or else a throwaway one started
 * with scripts/pg-test-server.sh on this machine (fsync on, so it shares the CPUs with the workers).
 *
 *   node --import tsx scripts/bench-storage.ts [--trials 2000] [--postgres URL] [--json] [--out FILE.json]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PostgresStorage, redactUrl } from '../lib/study/storage/postgres.js';
import { SqliteStorage } from '../lib/study/storage/sqlite.js';
import type { SerialState, Storage } from '../lib/study/storage/storage.js';
import { machineDescription } from '../lib/util/machine.js';

const self = fileURLToPath(import.meta.url);
const root = path.dirname(path.dirname(self));

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '2000' },
    postgres: { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    // A child process of the 4-worker runs: --worker --postgres URL --study NAME --batch N --trials N.
    worker: { type: 'boolean', default: false },
    study: { type: 'string' },
    batch: { type: 'string' },
  },
});

const TARGETS = { sqlite: 1000, postgres: 300 } as const;
const WARMUP_TRIALS = 16;

// ---------------------------------------------------------------------------------------------------
// What a worker writes.

interface StrategyState {
  rng: number[];
  /** The strategy's working set: the best 48 trials (hash, score, a few hyperparameters). */
  population: { id: number; hash: string; score: number; units: number[]; lr: number }[];
  /** One score per finished trial: what makes the state grow with the study. */
  history: number[];
}

function architecture(i: number): unknown {
  return {
    input: [28, 28, 1],
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: 64 + (i % 7) * 32, activation: 'relu' },
      { type: 'dropout', rate: 0.1 + (i % 3) * 0.1 },
      { type: 'dense', units: 32 + (i % 5) * 16, activation: 'gelu' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
    optimizer: { type: 'adam', learningRate: 0.001 * (1 + (i % 4)) },
  };
}

/** A finished trial as the Study records it, about 1 KB of JSON. */
function result(i: number, score: number): Record<string, unknown> {
  return {
    status: 'ok',
    score,
    metrics: { accuracy: score, loss: 1 - score, valAccuracy: score - 0.01, valLoss: 1.02 - score, params: 10_000 + i, flops: 2_000_000 + i * 13 },
    curve: Array.from({ length: 20 }, (_, e) => Number((score * (1 - Math.exp(-(e + 1) / 4))).toFixed(6))),
    timings: { buildMs: 3.25, trainMs: 1832.5, evalMs: 41.75 },
    fidelity: { epochs: 20, subset: 1 },
    hash: `arch-${i.toString(16).padStart(12, '0')}`,
    worker: 'bench',
    notes: 'x'.repeat(200),
  };
}

function nextState(previous: SerialState | undefined, scores: { id: number; score: number }[]): Omit<SerialState, 'version'> {
  const s = (previous?.strategy as StrategyState | undefined) ?? {
    rng: [0x12345678, 0x9abcdef0, 0x0fedcba9, 0x87654321],
    population: Array.from({ length: 48 }, (_, i) => ({ id: -1 - i, hash: `seed-${i.toString(16).padStart(16, '0')}`, score: 0, units: [128, 64, 10], lr: 0.001 })),
    history: [],
  };
  const population = [...s.population];
  const history = [...s.history];
  for (const { id, score } of scores) {
    history.push(score);
    population.push({ id, hash: `arch-${id.toString(16).padStart(12, '0')}`, score, units: [64 + (id % 7) * 32, 32 + (id % 5) * 16, 10], lr: 0.001 * (1 + (id % 4)) });
    population.sort((a, b) => b.score - a.score);
    population.length = 48;
  }
  const counters = previous?.counters ?? {};
  return { strategy: { rng: s.rng.map((x) => (x * 1103515245 + 12345) >>> 0), population, history }, scheduler: null, counters: { ...counters, told: (counters.told ?? 0) + scores.length } };
}

/** Runs `trials` trials in batches of `batch` on `study`, two transactions per batch; returns the count. */
async function work(storage: Storage, study: string, batch: number, trials: number, worker: string): Promise<number> {
  let done = 0;
  while (done < trials) {
    const n = Math.min(batch, trials - done);
    const ids = await storage.transaction(study, async (tx) => {
      const state = await tx.readState();
      await tx.claim(worker, n, Date.now() - 60_000);
      const ids = await tx.insertTrials(Array.from({ length: n }, (_, k) => ({ hash: `h${done + k}`, arch: architecture(done + k), fidelity: { epochs: 20 }, state: 'running' as const, worker })));
      await tx.writeState(nextState(state, []));
      return ids;
    });
    await storage.transaction(study, async (tx) => {
      const state = await tx.readState();
      const scores = ids.map((id) => ({ id, score: 0.5 + ((id * 7919) % 1000) / 2500 }));
      await tx.finishTrials(scores.map(({ id, score }) => ({ id, state: 'complete' as const, score, result: result(id, score) })));
      await tx.writeState(nextState(state, scores));
    });
    done += n;
  }
  return done;
}

const study = (name: string) => ({ name, space: 'mlp', strategy: 'evolution', seed: 0, budget: { evaluations: 1_000_000 }, options: {}, status: 'running' as const });

/** Creates `name`, runs a warm-up on its own study, then the measured run; returns seconds. */
async function timed(storage: Storage, name: string, batch: number, trials: number): Promise<number> {
  await storage.createStudy(study(`${name}-warmup`));
  await work(storage, `${name}-warmup`, batch, WARMUP_TRIALS, `bench:${process.pid}`);
  await storage.createStudy(study(name));
  const start = performance.now();
  await work(storage, name, batch, trials, `bench:${process.pid}`);
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------------
// A worker process: warms up, says "ready", waits for "go", runs, prints its count and time.

if (values.worker) {
  const storage = await PostgresStorage.open(values.postgres!);
  const worker = `bench:${process.pid}`;
  const warm = `${values.study!}-warmup-${process.pid}`;
  await storage.createStudy(study(warm));
  await work(storage, warm, Number(values.batch), WARMUP_TRIALS, worker);
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
  const start = performance.now();
  const done = await work(storage, values.study!, Number(values.batch), Number(values.trials), worker);
  process.stdout.write(`${JSON.stringify({ trials: done, seconds: (performance.now() - start) / 1000 })}\n`);
  await storage.close();
  process.exit(0);
}

/** Runs `processes` worker processes on one study; returns the wall time from "go" to the last one done. */
async function processes(url: string, name: string, count: number, batch: number, trials: number): Promise<number> {
  const storage = await PostgresStorage.open(url);
  await storage.createStudy(study(name));
  await storage.close();
  const children = Array.from({ length: count }, (_, w) => {
    const share = Math.floor(trials / count) + (w < trials % count ? 1 : 0);
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--worker', '--postgres', url, '--study', name, '--batch', String(batch), '--trials', String(share)], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const next = () => new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`worker ${w} exited with status ${code}`)));
    });
    return { child, next };
  });
  await Promise.all(children.map((c) => c.next().then((line) => { if (line !== 'ready') throw new Error(`worker said ${line}`); })));
  const start = performance.now();
  for (const c of children) c.child.stdin!.write('go\n');
  await Promise.all(children.map((c) => c.next()));
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------------
// The runs.

interface Run {
  storage: 'sqlite' | 'postgres';
  /** "synchronous NORMAL" or "FULL" (SQLite), "synchronous_commit on" or "off" (PostgreSQL). */
  durability: string;
  processes: number;
  batch: number;
  trials: number;
  seconds: number;
  trialsPerSecond: number;
  transactionsPerSecond: number;
  target: number;
}

const trials = Number(values.trials);
if (!Number.isInteger(trials) || trials < 8) throw new RangeError(`Expected an integer >= 8 for --trials but received ${values.trials}`);
const script = path.join(root, 'scripts', 'pg-test-server.sh');
let serverDir: string | undefined;
let url = values.postgres ?? process.env.NASX_BENCH_POSTGRES_URL;
if (!url) {
  serverDir = mkdtempSync(path.join(tmpdir(), 'nasx-bench-pg-'));
  const r = spawnSync(script, ['start', serverDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no PostgreSQL: pass --postgres URL, or let ${script} start one (it said: ${r.stderr.trim()})`);
  url = r.stdout.trim().split('\n').pop()!;
}
const stopServer = () => {
  if (serverDir) spawnSync(script, ['stop', serverDir], { stdio: 'ignore' });
  serverDir = undefined;
};
process.on('SIGINT', () => {
  stopServer();
  process.exit(130);
});

const runs: Run[] = [];
const record = (storage: Run['storage'], durability: string, procs: number, batch: number, seconds: number) => {
  runs.push({ storage, durability, processes: procs, batch, trials, seconds, trialsPerSecond: trials / seconds, transactionsPerSecond: (2 * Math.ceil(trials / batch)) / seconds, target: TARGETS[storage] });
  if (!values.json) process.stderr.write(`${storage} (${durability}), ${procs} process${procs > 1 ? 'es' : ''}, batch ${batch}: ${(trials / seconds).toFixed(0)} trials/s\n`);
};

/** The URL with a server setting for its sessions (libpq's `options`). */
function withSetting(url: string, setting: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c ${setting}`);
  return u.toString();
}

let server: Record<string, string> = {};
try {
  const scratch = mkdtempSync(path.join(tmpdir(), 'nasx-bench-sqlite-'));
  try {
    for (const synchronous of ['normal', 'full'] as const) {
      for (const batch of [1, 8]) {
        const storage = await SqliteStorage.open(path.join(scratch, `bench-${synchronous}-${batch}.db`), { synchronous });
        record('sqlite', `synchronous ${synchronous.toUpperCase()}`, 1, batch, await timed(storage, 'bench', batch, trials));
        await storage.close();
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const setting of ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method']) server[setting] = String((await client.query(`SHOW ${setting}`)).rows[0][setting]);
  await client.end();
  const tag = `bench-${process.pid}-${Date.now()}`;
  for (const commit of ['on', 'off']) {
    const target = commit === 'on' ? url : withSetting(url, 'synchronous_commit=off');
    for (const batch of [1, 8]) {
      const storage = await PostgresStorage.open(target);
      record('postgres', `synchronous_commit ${commit}`, 1, batch, await timed(storage, `${tag}-${commit}-1-${batch}`, batch, trials));
      await storage.close();
    }
    for (const batch of [1, 8]) record('postgres', `synchronous_commit ${commit}`, 4, batch, await processes(target, `${tag}-${commit}-4-${batch}`, 4, batch, trials));
  }
  // A server that is kept keeps no benchmark studies.
  const cleanup = await PostgresStorage.open(url);
  for (const s of await cleanup.listStudies()) if (s.name.startsWith(tag)) await cleanup.deleteStudy(s.name);
  await cleanup.close();
} finally {
  stopServer();
}

const sqliteAt = (batch: number) => runs.find((r) => r.storage === 'sqlite' && r.batch === batch)!.trialsPerSecond;
const report = {
  machine: machineDescription(),
  trials,
  pattern: 'per batch of n: tx1 readState, claim, insertTrials(n running), writeState; tx2 readState, finishTrials(n, ~1 KB results), writeState',
  sqlite: { journal: 'WAL', synchronous: 'FULL', directory: tmpdir() },
  postgres: { url: redactUrl(url), throwaway: values.postgres === undefined && process.env.NASX_BENCH_POSTGRES_URL === undefined, ...server },
  targets: TARGETS,
  rows: runs.map((r) => ({ ...r, vsTarget: r.trialsPerSecond / r.target, vsSqlite: r.trialsPerSecond / sqliteAt(r.batch) })),
};
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const pgNote = `${report.postgres.throwaway ? 'a throwaway server on this machine' : report.postgres.url} (${server.server_version}, fsync ${server.fsync}, wal_sync_method ${server.wal_sync_method})`;
  process.stdout.write(`Machine: ${report.machine}\n${trials} trials per run; SQLite: WAL, synchronous NORMAL (the default) and FULL, in ${tmpdir()}; PostgreSQL: ${pgNote}\n\n`);
  process.stdout.write('| storage | durability | processes | batch | seconds | trials/s | transactions/s | target | vs target | vs SQLite, same batch |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of report.rows) {
    process.stdout.write(`| ${r.storage} | ${r.durability} | ${r.processes} | ${r.batch} | ${r.seconds.toFixed(2)} | ${r.trialsPerSecond.toFixed(0)} | ${r.transactionsPerSecond.toFixed(0)} | ≥ ${r.target} | ${r.vsTarget.toFixed(2)}× | ${r.vsSqlite.toFixed(2)}× |\n`);
  }
}
