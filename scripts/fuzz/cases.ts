/**
 * Fuzzing API calls with random arguments, in child processes: a suite (api-cases.ts,
 * native-cases.ts) makes call `i` from a generator seeded by (seed, i), so any call can be replayed
 * alone. `runCases` runs calls [0, count) in a child (scripts/fuzz/run-cases.ts) that prints a line
 * before and after each; a child that crashes, is killed for memory, or hangs past a call's time limit
 * is reported with that call's arguments, and a new child goes on from the next call.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FuzzRng } from './mutate.js';
import { siblingScript } from './supervisor.js';
import type { VerdictOptions } from './verdict.js';

export interface FuzzCall {
  /** The function under test, e.g. "trainCandidates". */
  fn: string;
  /** Its arguments, for the report (rendered with `show`). */
  args: unknown[];
  /** Makes the call; a returned promise is awaited. */
  call: () => unknown;
  verdict?: VerdictOptions;
  /** Longest the call may take (default 10 s). */
  timeoutMs?: number;
  /** How the arguments were made from valid ones (filled in by the runner from the edit log). */
  notes?: string[];
}

export interface CaseGenerator<F> {
  fn: string;
  make(rng: FuzzRng, fixtures: F): FuzzCall;
}

export interface CaseSuite<F = unknown> {
  name: string;
  setup(): Promise<F>;
  generators: readonly CaseGenerator<F>[];
}

/** What the child prints, one JSON object per line. */
export type CaseLine =
  | { type: 'start'; index: number; fn: string; args: string; notes: string[]; timeoutMs: number }
  | { type: 'end'; index: number; fn: string; ok: boolean; returned: boolean; reason?: string; stack?: string; ms: number }
  | { type: 'ready' }
  | { type: 'finished' };

export interface CaseFailure {
  index: number;
  fn: string;
  args: string;
  notes: string[];
  reason: string;
  stack?: string;
}

export interface CaseReport {
  suite: string;
  seed: number;
  calls: number;
  /** Per function: calls, how many returned (rather than refused), and the slowest call's milliseconds. */
  perFunction: Record<string, { calls: number; returned: number; maxMs: number }>;
  failures: CaseFailure[];
  restarts: number;
  seconds: number;
}


/** Reads the child's process memory (resident set) from /proc, in bytes; 0 where there is no /proc. */
export function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface RunCasesOptions {
  suite: 'api' | 'native';
  seed: number;
  count: number;
  /** A child above this resident memory is killed and the call reported (default 3 GiB). */
  maxResidentBytes?: number;
  /** Extra time for a child to load and set up its fixtures (default 120 s). */
  setupMs?: number;
  /** At most this many children (crashes and hangs restart one). Default 12. */
  maxRestarts?: number;
}

export async function runCases(options: RunCasesOptions): Promise<CaseReport> {
  const started = performance.now();
  const failures: CaseFailure[] = [];
  const perFunction: CaseReport['perFunction'] = {};
  let next = 0;
  let restarts = 0;
  const maxRss = options.maxResidentBytes ?? 3 * 2 ** 30;
  // The children's files go here, removed at the end even when a child was killed.
  const workDir = mkdtempSync(path.join(tmpdir(), `nasx-${options.suite}-fuzz-`));
  try {
    while (next < options.count) {
      const from = next;
      const child = spawn(process.execPath, ['--import', 'tsx', siblingScript('run-cases'), options.suite, String(options.seed), String(from), String(options.count)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NASX_FUZZ_WORKDIR: workDir },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-6000)));
      let buffered = '';
      let current: Extract<CaseLine, { type: 'start' }> | undefined;
      let deadline = Date.now() + (options.setupMs ?? 120_000);
      let finished = false;
      let killedFor: string | undefined;
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.startsWith('{')) continue;
          const m = JSON.parse(line) as CaseLine;
          if (m.type === 'start') {
            current = m;
            deadline = Date.now() + m.timeoutMs;
            perFunction[m.fn] ??= { calls: 0, returned: 0, maxMs: 0 };
            perFunction[m.fn]!.calls++;
          } else if (m.type === 'end') {
            const stats = perFunction[m.fn];
            if (stats) {
              if (m.returned) stats.returned++;
              stats.maxMs = Math.max(stats.maxMs, Math.round(m.ms));
            }
            if (!m.ok) failures.push({ index: m.index, fn: m.fn, args: current?.args ?? '?', notes: current?.notes ?? [], reason: m.reason ?? '', ...(m.stack ? { stack: m.stack } : {}) });
            next = m.index + 1;
            current = undefined;
            deadline = Date.now() + 60_000; // between calls: generating the next one
          } else if (m.type === 'finished') {
            finished = true;
          }
        }
      });
      const watchdog = setInterval(() => {
        const rss = residentBytes(child.pid!);
        if (rss > maxRss) {
          killedFor = `the process grew to ${(rss / 2 ** 30).toFixed(1)} GiB resident (limit ${(maxRss / 2 ** 30).toFixed(1)} GiB)`;
          child.kill('SIGKILL');
        } else if (Date.now() > deadline) {
          killedFor = current ? `the call did not finish within ${current.timeoutMs} ms (hang)` : 'the child stopped making progress';
          child.kill('SIGKILL');
        }
      }, 50);
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      clearInterval(watchdog);
      if (finished && exit.code === 0) break;
      const tail = stderr.trim().split('\n').slice(-12).join('\n');
      if (current) {
        failures.push({
          index: current.index,
          fn: current.fn,
          args: current.args,
          notes: current.notes,
          reason: killedFor ?? `the process died during the call (exit code ${exit.code}, signal ${exit.signal})`,
          stack: tail,
        });
        next = current.index + 1;
      } else if (next === from) {
        // Died before or between calls without a call to blame: the setup failed.
        throw new Error(`the ${options.suite} fuzz child failed outside any call (exit ${exit.code ?? exit.signal}${killedFor ? `, ${killedFor}` : ''}):\n${tail}`);
      }
      if (++restarts > (options.maxRestarts ?? 12)) {
        failures.push({ index: next, fn: '(runner)', args: '', notes: [], reason: `gave up after ${restarts} crashed or hung children` });
        break;
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return { suite: options.suite, seed: options.seed, calls: next, perFunction, failures, restarts, seconds: (performance.now() - started) / 1000 };
}

/** The failures as a readable report: one block per distinct (function, reason), first input shown. */
export function formatFailures(report: CaseReport): string {
  const seen = new Map<string, { f: CaseFailure; n: number }>();
  for (const f of report.failures) {
    const key = `${f.fn}|${f.reason.replace(/\d+/g, 'N').replace(/"[^"]*"/g, '"…"')}`;
    const entry = seen.get(key);
    if (entry) entry.n++;
    else seen.set(key, { f, n: 1 });
  }
  return [...seen.values()]
    .map(({ f, n }) => {
      const where = f.stack?.split('\n').find((l) => /\/lib\//.test(l))?.trim();
      const notes = f.notes.length > 0 ? `\n  made from valid arguments by: ${f.notes.join('; ')}` : '';
      return (
        `${f.fn}: ${f.reason}${n > 1 ? ` (${n} calls)` : ''}${where ? `\n  ${where}` : ''}${notes}\n  call #${f.index} (replay: node --import tsx scripts/fuzz/run-cases.ts ${report.suite} ${report.seed} ${f.index}): ` +
        `${f.fn}(${f.args.length > 600 ? `${f.args.slice(0, 597)}...` : f.args})`
      );
    })
    .join('\n');
}
