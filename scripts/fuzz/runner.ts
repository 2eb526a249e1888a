/**
 * The fuzz loop of one target, run in a child process by the supervisor (scripts/fuzz/supervisor.ts),
 * which watches it: a hang, a crash or a heap overflow ends this process, and the supervisor finds the
 * input that did it in `currentFile`, written before every execution.
 *
 * Messages to the supervisor (process.send): `ready` (seed corpus run), `corpus` (a new interesting
 * input), `finding`, `stats` (at least every 100 ms of a loop turn), `done`.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CoverageCollector } from './coverage.js';
import { FuzzRng, Mutator } from './mutate.js';
import { ContractViolation, targetByName, type FuzzTarget } from './targets.js';
import { describeThrown, judgeThrown } from './verdict.js';

export interface RunnerConfig {
  target: string;
  seed: number;
  /** Seconds of fuzzing after the corpus has run. */
  seconds: number;
  /** Stop after this many executions of mutated inputs (in addition to the deadline). */
  runs?: number;
  /** Directories whose files form the starting corpus. */
  corpusDirs: string[];
  /** Written with each input before it runs. */
  currentFile: string;
  /** An input taking longer than this is a finding ("slow"). */
  slowMs: number;
  /** Heap or array-buffer memory above this after an input is a finding ("memory"). */
  memoryLimitBytes: number;
}

export type RunnerMessage =
  | { type: 'ready'; seeds: number; execs: number; corpus: number; blocks: number; features: number }
  | { type: 'corpus'; data: string }
  | { type: 'finding'; kind: 'error' | 'contract' | 'slow' | 'memory'; reason: string; stack: string; data: string; ms: number }
  | { type: 'stats'; execs: number; corpus: number; blocks: number; features: number }
  | { type: 'done'; execs: number; corpus: number; blocks: number; features: number };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const libUrl = pathToFileURL(path.join(root, 'lib')).href + '/';

function send(message: RunnerMessage): void {
  process.send!(message);
}

function readCorpus(dirs: string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.') || name.endsWith('.md')) continue;
      try {
        out.push(new Uint8Array(readFileSync(path.join(dir, name))));
      } catch {
        // a directory or an unreadable file: not an input
      }
    }
  }
  return out;
}

class Loop {
  private readonly coverage = new CoverageCollector((url) => url.startsWith(libUrl));
  private readonly corpus: Uint8Array[] = [];
  /** Features each corpus entry covers: deeper inputs are picked more often. */
  private readonly depth: number[] = [];
  /** Features of the last execution. */
  private lastFeatures = 0;
  private readonly fd: number;
  execs = 0;

  constructor(
    private readonly target: FuzzTarget,
    private readonly config: RunnerConfig,
  ) {
    this.fd = openSync(config.currentFile, 'w');
  }

  stats() {
    return { execs: this.execs, corpus: this.corpus.length, blocks: this.coverage.blocks, features: this.coverage.featureCount };
  }

  /** Runs one input; returns whether it found new coverage. Reports findings. */
  execute(input: Uint8Array): boolean {
    writeSync(this.fd, input, 0, input.length, 0);
    ftruncateSync(this.fd, input.length);
    const start = performance.now();
    let thrown: unknown;
    let threw = false;
    try {
      this.target.run(input);
    } catch (err) {
      threw = true;
      thrown = err;
    }
    const ms = performance.now() - start;
    const { fresh, features } = this.coverage.collect();
    this.lastFeatures = features.length;
    if (threw) {
      const verdict = thrown instanceof ContractViolation ? { ok: false, reason: `contract: ${thrown.message}` } : judgeThrown(thrown, this.target.verdict);
      if (!verdict.ok) {
        const stack = thrown instanceof Error ? (thrown.stack ?? describeThrown(thrown)) : describeThrown(thrown);
        send({ type: 'finding', kind: thrown instanceof ContractViolation ? 'contract' : 'error', reason: verdict.reason!, stack, data: Buffer.from(input).toString('base64'), ms });
        return false;
      }
    }
    if (ms > this.config.slowMs) {
      send({ type: 'finding', kind: 'slow', reason: `one execution took ${Math.round(ms)} ms (limit ${this.config.slowMs} ms)`, stack: '', data: Buffer.from(input).toString('base64'), ms });
    }
    const mem = process.memoryUsage();
    if (mem.heapUsed > this.config.memoryLimitBytes || mem.arrayBuffers > this.config.memoryLimitBytes) {
      send({
        type: 'finding',
        kind: 'memory',
        reason: `after one execution the process holds ${Math.round(mem.heapUsed / 2 ** 20)} MiB of heap and ${Math.round(mem.arrayBuffers / 2 ** 20)} MiB of array buffers (limit ${Math.round(this.config.memoryLimitBytes / 2 ** 20)} MiB)`,
        stack: '',
        data: Buffer.from(input).toString('base64'),
        ms,
      });
    }
    return fresh > 0;
  }

  async run(): Promise<void> {
    const seeds = readCorpus(this.config.corpusDirs);
    // Module loading and the first calls are not the inputs' coverage.
    this.coverage.reset();
    for (const s of seeds) {
      this.execute(s);
      this.corpus.push(s);
      this.depth.push(this.lastFeatures);
    }
    if (this.corpus.length === 0) {
      this.corpus.push(new Uint8Array(0));
      this.depth.push(0);
    }
    send({ type: 'ready', seeds: seeds.length, ...this.stats() });

    const rng = new FuzzRng(this.config.seed);
    const mutator = new Mutator(rng, { maxLength: this.target.maxLength, tokens: this.target.tokens });
    let lastReport = performance.now();
    const limit = this.config.runs ?? Infinity;
    const deadline = Date.now() + this.config.seconds * 1000;
    let mutated = 0;
    while (Date.now() < deadline && mutated < limit) {
      // Mostly the deepest of three random entries (inputs that get far into the parser, rather than
      // the many that stop at its first check), sometimes a recent discovery, sometimes any.
      const n = this.corpus.length;
      let pick: number;
      const r = rng.float();
      if (r < 0.6) {
        pick = rng.below(n);
        for (let k = 0; k < 2; k++) {
          const other = rng.below(n);
          if (this.depth[other]! > this.depth[pick]!) pick = other;
        }
      } else if (r < 0.8) pick = n - 1 - rng.below(Math.max(1, Math.ceil(n / 8)));
      else pick = rng.below(n);
      const input = mutator.mutate(this.corpus[pick]!, this.corpus[rng.below(n)]);
      this.execs++;
      mutated++;
      if (this.execute(input)) {
        this.corpus.push(input);
        this.depth.push(this.lastFeatures);
        send({ type: 'corpus', data: Buffer.from(input).toString('base64') });
      }
      if (performance.now() - lastReport > 100) {
        send({ type: 'stats', ...this.stats() });
        lastReport = performance.now();
        await yieldToLoop(); // lets the messages out
      }
    }
    closeSync(this.fd);
    send({ type: 'done', ...this.stats() });
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.NASX_FUZZ_CONFIG ?? '{}') as RunnerConfig;
  const loop = new Loop(targetByName(config.target), config);
  await loop.run();
  process.disconnect?.();
}

if (process.send) {
  main().catch((err) => {
    process.stderr.write(`fuzz runner failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(70);
  });
}
