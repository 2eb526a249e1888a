/**
 * Runs a target's fuzz loop (scripts/fuzz/runner.ts) in a child process and watches it: a child that
 * stops reporting is killed and its current input saved as a hang; one that dies (a crash, a heap
 * overflow) has its current input saved as a crash; then a fresh child carries on with the corpus
 * gathered so far, until the time is up. Findings are written to `<findingsDir>/<target>/`.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunnerConfig, RunnerMessage } from './runner.js';
import { targetByName } from './targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
export const SEED_CORPUS_DIR = path.join(REPO_ROOT, 'test', 'fuzz', 'corpus');

/** A script next to this one: the TypeScript source under tsx, the compiled file under dist/. */
export function siblingScript(name: string): string {
  const ts = path.join(here, `${name}.ts`);
  return existsSync(ts) ? ts : path.join(here, `${name}.js`);
}

export interface FuzzOptions {
  target: string;
  /** Wall-clock seconds of fuzzing (after the seed corpus ran). */
  seconds: number;
  seed?: number;
  /** Stop after this many mutated inputs even if time is left. */
  runs?: number;
  /** Where findings go (default `<repo>/fuzz-findings`); a directory per target. */
  findingsDir?: string;
  /** Seed corpus directory of the target (default test/fuzz/corpus/<target>). */
  corpusDir?: string;
  /** Keep the discovered corpus here (default: a temporary directory, removed afterwards). */
  outputCorpusDir?: string;
  slowMs?: number;
  /** A child silent for this long is hung. */
  hangMs?: number;
  /** V8 heap limit of the child, MiB. */
  heapMb?: number;
  /** Heap or array-buffer memory after an input above which it is a finding. */
  memoryLimitMb?: number;
  /** Let V8 optimise the targets (faster, but coverage then depends on timing; default false). */
  optimize?: boolean;
  /** Children restarted after crashes or hangs at most this many times. */
  maxRestarts?: number;
  onStats?: (s: FuzzStats) => void;
}

export interface Finding {
  target: string;
  kind: 'error' | 'contract' | 'slow' | 'memory' | 'hang' | 'crash' | 'oom';
  reason: string;
  stack: string;
  /** The input file written under findingsDir. */
  file: string;
  input: Uint8Array;
}

export interface FuzzStats {
  target: string;
  executions: number;
  executionsPerSecond: number;
  seeds: number;
  corpus: number;
  /** Blocks covered by the seed corpus alone, and by the end. */
  seedBlocks: number;
  blocks: number;
  features: number;
  seedFeatures: number;
  seconds: number;
  restarts: number;
}

export interface FuzzReport extends FuzzStats {
  findings: Finding[];
}

function signatureOf(kind: string, reason: string, stack: string): string {
  // Numbers and quoted values vary between inputs that hit the same bug.
  const where = stack.split('\n').find((l) => /\/(lib|native)\//.test(l)) ?? '';
  return `${kind}|${reason.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N')}|${where.trim()}`;
}

export async function fuzzTarget(options: FuzzOptions): Promise<FuzzReport> {
  const target = options.target;
  const seed = options.seed ?? 1;
  const findingsDir = path.join(options.findingsDir ?? path.join(REPO_ROOT, 'fuzz-findings'), target);
  const work = mkdtempSync(path.join(tmpdir(), `nasx-fuzz-${target}-`));
  const discovered = options.outputCorpusDir ?? path.join(work, 'corpus');
  mkdirSync(discovered, { recursive: true });
  const currentFile = path.join(work, 'current');
  const slowMs = options.slowMs ?? 2000;
  const hangMs = options.hangMs ?? Math.max(10_000, slowMs * 4);
  const maxRestarts = options.maxRestarts ?? 8;

  const findings: Finding[] = [];
  const signatures = new Set<string>();
  const stats: FuzzStats = {
    target,
    executions: 0,
    executionsPerSecond: 0,
    seeds: 0,
    corpus: 0,
    seedBlocks: -1,
    blocks: 0,
    features: 0,
    seedFeatures: -1,
    seconds: 0,
    restarts: 0,
  };
  let execsBefore = 0; // executions of the children that ended
  let fuzzStart = 0;

  const record = (kind: Finding['kind'], reason: string, stack: string, input: Uint8Array) => {
    const sig = signatureOf(kind, reason, stack);
    if (signatures.has(sig)) return;
    signatures.add(sig);
    mkdirSync(findingsDir, { recursive: true });
    const hash = createHash('sha1').update(input).digest('hex').slice(0, 12);
    const file = path.join(findingsDir, `${kind}-${hash}`);
    writeFileSync(file, input);
    writeFileSync(`${file}.txt`, `target: ${target}\nkind: ${kind}\nreason: ${reason}\nreproduce: node --import tsx scripts/fuzz-js.ts --target ${target} --reproduce ${file.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, file) : file}\n\n${stack}\n`);
    findings.push({ target, kind, reason, stack, file, input });
  };

  const secondsLeft = () => (fuzzStart === 0 ? options.seconds : Math.max(0, options.seconds - (Date.now() - fuzzStart) / 1000));
  let runsLeft = options.runs;

  try {
    for (let attempt = 0; ; attempt++) {
      const config: RunnerConfig = {
        target,
        seed: seed + attempt * 7919,
        seconds: secondsLeft(),
        ...(runsLeft === undefined ? {} : { runs: runsLeft }),
        corpusDirs: [options.corpusDir ?? path.join(SEED_CORPUS_DIR, targetByName(target).corpus ?? target), discovered],
        currentFile,
        slowMs,
        memoryLimitBytes: (options.memoryLimitMb ?? 768) * 2 ** 20,
      };
      writeFileSync(currentFile, '');
      const child = fork(siblingScript('runner'), [], {
        // Without --no-opt, when TurboFan compiles a function (which depends on timing: it compiles
        // concurrently) changes the block counts V8 reports, so the same seed would grow a different
        // corpus on each run; unoptimised code is only ~20% slower here and makes a run repeatable.
        execArgv: ['--import', 'tsx', `--max-old-space-size=${options.heapMb ?? 1024}`, ...(options.optimize ? [] : ['--no-opt'])],
        env: { ...process.env, NASX_FUZZ_CONFIG: JSON.stringify(config) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-8000);
      });
      let last = Date.now();
      let done = false;
      let ready = false;
      let childExecs = 0;
      let hung = false;
      let discoveredCount = 0;
      const watchdog = setInterval(() => {
        // Loading tsx and the library can take a while on a busy machine; count from the first message.
        const allowed = ready ? hangMs : hangMs + 60_000;
        if (Date.now() - last > allowed) {
          hung = true;
          child.kill('SIGKILL');
        }
      }, 250);
      child.on('message', (m: RunnerMessage) => {
        last = Date.now();
        switch (m.type) {
          case 'ready':
            ready = true;
            if (stats.seedBlocks < 0) {
              stats.seeds = m.seeds;
              stats.seedBlocks = m.blocks;
              stats.seedFeatures = m.features;
              fuzzStart = Date.now();
            }
            stats.corpus = m.corpus;
            stats.blocks = Math.max(stats.blocks, m.blocks);
            stats.features = Math.max(stats.features, m.features);
            break;
          case 'corpus': {
            const data = Buffer.from(m.data, 'base64');
            writeFileSync(path.join(discovered, `${String(attempt).padStart(2, '0')}-${String(discoveredCount++).padStart(6, '0')}`), data);
            break;
          }
          case 'finding':
            record(m.kind, m.reason, m.stack, new Uint8Array(Buffer.from(m.data, 'base64')));
            break;
          case 'stats':
          case 'done':
            childExecs = m.execs;
            stats.executions = execsBefore + m.execs;
            stats.corpus = m.corpus;
            stats.blocks = Math.max(stats.blocks, m.blocks);
            stats.features = Math.max(stats.features, m.features);
            if (m.type === 'done') done = true;
            options.onStats?.({ ...stats, seconds: fuzzStart ? (Date.now() - fuzzStart) / 1000 : 0 });
            break;
        }
      });
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      clearInterval(watchdog);
      execsBefore += childExecs;
      if (runsLeft !== undefined) runsLeft = Math.max(0, runsLeft - childExecs);
      stats.executions = execsBefore;
      if (done && exit.code === 0) break;

      let input: Uint8Array = new Uint8Array(0);
      try {
        input = new Uint8Array(readFileSync(currentFile));
      } catch {
        // nothing was running yet
      }
      const tail = stderr.trim().split('\n').slice(-20).join('\n');
      if (hung) {
        record('hang', `no progress for ${Math.round((Date.now() - last) / 1000)} s: the input never finished`, tail, input);
      } else if (/heap out of memory|Allocation failed|Reached heap limit|ERR_WORKER_OUT_OF_MEMORY/i.test(stderr)) {
        record('oom', `the process ran out of memory (exit ${exit.code ?? exit.signal})`, tail, input);
      } else if (exit.code === 70 && !ready) {
        throw new Error(`the fuzz runner for ${target} failed to start:\n${tail}`);
      } else {
        record('crash', `the process died (exit code ${exit.code}, signal ${exit.signal})`, tail, input);
      }
      if (secondsLeft() <= 0 || runsLeft === 0 || attempt >= maxRestarts) break;
      stats.restarts++;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  stats.seconds = fuzzStart ? (Date.now() - fuzzStart) / 1000 : 0;
  stats.executionsPerSecond = stats.seconds > 0 ? stats.executions / stats.seconds : 0;
  if (stats.seedBlocks < 0) stats.seedBlocks = 0;
  if (stats.seedFeatures < 0) stats.seedFeatures = 0;
  return { ...stats, findings };
}
