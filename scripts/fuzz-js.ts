/**
 * `npm run fuzz:js`: coverage-guided fuzzing of the TypeScript parsers, driven by V8's block coverage.
 *
 *   npm run fuzz:js -- [--target NAME|all] [--seconds N] [--seed N] [--runs N] [--findings DIR]
 *   npm run fuzz:js -- --target NAME --reproduce FILE
 *
 * Each target (scripts/fuzz/targets.ts) starts from its seed corpus in test/fuzz/corpus/<target>/ and
 * runs in a watched child process: an input that finds a new (function, block, hit-count bucket) joins
 * the corpus. An input that makes a target throw anything but a clear refusal (NasxError, or a
 * TypeError/RangeError in the project's wording), break a documented contract, take over 2 s, hold
 * too much memory, hang or crash the process is a finding, saved under fuzz-findings/<target>/ with a
 * note of what happened; the exit status is then 1. Targets run without V8's optimising compiler, so
 * that a seed (and --runs) gives the same run every time (see supervisor.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fuzzTarget, REPO_ROOT, type FuzzReport } from './fuzz/supervisor.js';
import { ContractViolation, TARGETS, targetByName } from './fuzz/targets.js';
import { describeThrown, judgeThrown } from './fuzz/verdict.js';

const USAGE = `Usage: node --import tsx scripts/fuzz-js.ts [options]
  --target NAME     one of ${TARGETS.map((t) => t.name).join(', ')}, or all (default)
  --seconds N       seconds of fuzzing per target, after its seed corpus (default 30)
  --seed N          seed of the mutations (default 1)
  --runs N          stop a target after N mutated inputs (default: only the time limit)
  --findings DIR    where findings go (default fuzz-findings/)
  --keep-corpus DIR keep each target's discovered inputs in DIR/<target>/
  --optimize        let V8 optimise the targets: faster, but a seed no longer gives the same run
  --reproduce FILE  run one input through --target in this process and print the verdict
  --list            list the targets
  --help            this text`;

function fail(message: string): never {
  process.stderr.write(`fuzz-js: ${message}\n`);
  process.exit(2);
}

function integer(name: string, raw: string | undefined, fallback: number | undefined, min: number): number | undefined {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(v) || v < min) fail(`Expected an integer >= ${min} for --${name} but received ${JSON.stringify(raw)}`);
  return v;
}

function reproduce(targetName: string, file: string): number {
  const target = targetByName(targetName);
  const input = new Uint8Array(readFileSync(file));
  const start = performance.now();
  try {
    target.run(input);
    process.stdout.write(`${target.name}: returned in ${(performance.now() - start).toFixed(1)} ms (no finding)\n`);
    return 0;
  } catch (err) {
    const ms = (performance.now() - start).toFixed(1);
    const verdict = err instanceof ContractViolation ? { ok: false, reason: `contract: ${err.message}` } : judgeThrown(err, target.verdict);
    if (verdict.ok) {
      process.stdout.write(`${target.name}: refused in ${ms} ms, correctly: ${describeThrown(err)}\n`);
      return 0;
    }
    process.stdout.write(`${target.name}: FINDING after ${ms} ms: ${verdict.reason}\n${err instanceof Error ? err.stack : ''}\n`);
    return 1;
  }
}

function row(r: FuzzReport): string {
  return [
    r.target.padEnd(13),
    String(r.executions).padStart(9),
    r.executionsPerSecond.toFixed(0).padStart(7),
    `${r.seeds}→${r.corpus}`.padStart(10),
    `${r.seedBlocks}→${r.blocks}`.padStart(11),
    String(r.findings.length).padStart(8),
  ].join('  ');
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        target: { type: 'string' },
        seconds: { type: 'string' },
        seed: { type: 'string' },
        runs: { type: 'string' },
        findings: { type: 'string' },
        'keep-corpus': { type: 'string' },
        optimize: { type: 'boolean' },
        reproduce: { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (v.list) {
    for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(13)} ${t.description}\n`);
    return 0;
  }
  const targetName = v.target ?? 'all';
  if (targetName !== 'all' && !TARGETS.some((t) => t.name === targetName)) {
    fail(`Expected one of ${[...TARGETS.map((t) => t.name), 'all'].map((n) => JSON.stringify(n)).join(', ')} for --target but received ${JSON.stringify(targetName)}`);
  }
  if (v.reproduce !== undefined) {
    if (targetName === 'all') fail('--reproduce needs --target NAME');
    return reproduce(targetName, v.reproduce);
  }
  const seconds = integer('seconds', v.seconds, 30, 1)!;
  const seed = integer('seed', v.seed, 1, 0)!;
  const runs = integer('runs', v.runs, undefined, 1);
  const targets = targetName === 'all' ? TARGETS.map((t) => t.name) : [targetName];

  process.stdout.write(`fuzzing ${targets.join(', ')}: ${seconds} s each, seed ${seed}${runs === undefined ? '' : `, at most ${runs} inputs`}\n`);
  process.stdout.write(`${'target'.padEnd(13)}  ${'execs'.padStart(9)}  ${'exec/s'.padStart(7)}  ${'corpus'.padStart(10)}  ${'blocks'.padStart(11)}  findings\n`);
  const reports: FuzzReport[] = [];
  for (const target of targets) {
    const report = await fuzzTarget({
      target,
      seconds,
      seed,
      ...(runs === undefined ? {} : { runs }),
      ...(v.findings === undefined ? {} : { findingsDir: path.resolve(v.findings) }),
      ...(v.optimize ? { optimize: true } : {}),
      ...(v['keep-corpus'] === undefined ? {} : { outputCorpusDir: path.resolve(v['keep-corpus'], target) }),
    });
    reports.push(report);
    process.stdout.write(`${row(report)}\n`);
    for (const f of report.findings) {
      process.stdout.write(`    ${f.kind}: ${f.reason}\n      saved: ${path.relative(REPO_ROOT, f.file)} (${f.input.length} bytes)\n`);
    }
  }
  const total = reports.reduce((a, r) => a + r.findings.length, 0);
  process.stdout.write(total === 0 ? 'no findings\n' : `${total} finding${total === 1 ? '' : 's'}: see the .txt next to each saved input\n`);
  return total === 0 ? 0 : 1;
}

process.exitCode = await main();
