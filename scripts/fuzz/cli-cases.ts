/**
 * The `nasx` command (bin/nasx.js) run with random flags and values: each case starts from a tiny valid
 * command line (budget 1, one epoch, digits) and changes one to three things — a flag's value, a flag
 * removed, an unknown flag, a missing value, a stray positional, `--flag=value` forms. Work sizes a
 * valid value may make large (budget, epochs, seeds, time) are capped; paths that are written are
 * always inside the case's directory. `runNasx` runs one with a time limit and a memory watchdog;
 * `judgeCli` says whether the outcome is acceptable: exit status 0, 1, 2 or 130 (never a signal),
 * no stack trace, and a usage error as one `nasx: ...` line on stderr.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { residentBytes } from './cases.js';
import { FuzzRng } from './mutate.js';
import { EDGE_NUMBERS, mutateValue, randomString } from './random-value.js';
import { REPO_ROOT } from './supervisor.js';

export interface CliFixtures {
  /** The working directory of every case; everything written goes here. */
  dir: string;
  modelFile: string;
  csvFile: string;
  spaceFile: string;
  archs: unknown[];
  /** Search-space descriptions (JSON values) to write mutated space files from. */
  spaces: unknown[];
}

export interface CliCase {
  args: string[];
  /** What was changed from the valid command line. */
  notes: string[];
}

const COMMANDS = ['search', 'train', 'bench', 'export', 'proxy', 'info'] as const;

const NUMBER_TEXTS = [...EDGE_NUMBERS.map(String), '', ' ', '1e3', '0x10', '1_000', '+1', '1.', '.5', '-0', 'abc', '1e-400', '08', '1,2'];

/** Values a caps-sensitive flag may not exceed (a valid large value is just slow, not a finding). */
const CAPS: Record<string, number> = { sample: 8, prescreen: 4, budget: 2, epochs: 1, seeds: 2, time: 3, parallel: 4, top: 50, 'max-samples': 64 };

function baseArgs(command: (typeof COMMANDS)[number], fx: CliFixtures): string[] {
  switch (command) {
    case 'search':
      return ['search', '--budget', '1', '--epochs', '1', '--parallel', '1', '--dataset', 'digits', '--json'];
    case 'train':
      return ['train', '--arch', '{"type":"mlp","layers":[{"units":8}]}', '--epochs', '1', '--json'];
    case 'bench':
      return ['bench', '--budget', '2', '--seeds', '1', '--strategies', 'random', '--json'];
    case 'export':
      return ['export', fx.modelFile, '--out', path.join(fx.dir, 'out.onnx'), '--max-samples', '16', '--json'];
    case 'proxy':
      return ['proxy', '--sample', '3', '--dataset', 'digits', '--json'];
    default:
      return ['info'];
  }
}

const FLAGS: Record<(typeof COMMANDS)[number], string[]> = {
  search: ['space', 'dataset', 'task', 'label', 'strategy', 'budget', 'time', 'parallel', 'epochs', 'inherit', 'prescreen', 'prescreen-proxies', 'data-fraction', 'resolution', 'batch-size', 'lr', 'seed', 'threads', 'max-memory', 'top', 'out', 'export', 'max-latency-ms', 'json', 'help'],
  train: ['arch', 'candidates', 'dataset', 'task', 'label', 'epochs', 'batch-size', 'lr', 'optimizer', 'seed', 'threads', 'max-memory', 'data-fraction', 'resolution', 'save', 'inherit', 'json', 'help'],
  bench: ['benchmark', 'strategies', 'seeds', 'budget', 'json', 'plot', 'help'],
  export: ['out', 'opset', 'tolerance', 'max-samples', 'dataset', 'task', 'label', 'no-validate', 'json', 'help'],
  proxy: ['space', 'dataset', 'task', 'label', 'sample', 'batch-size', 'seed', 'threads', 'max-memory', 'top', 'json', 'help'],
  info: ['help', 'json'],
};
const BOOLEAN_FLAGS = new Set(['json', 'help', 'no-validate', 'inherit']);
const WRITTEN_FLAGS = new Set(['out', 'export', 'save', 'plot']);

function valueFor(rng: FuzzRng, flag: string, fx: CliFixtures): string {
  const d = fx.dir;
  if (WRITTEN_FLAGS.has(flag)) {
    return rng.pick([path.join(d, 'r.json'), d, path.join(d, 'missing', 'x.json'), '/dev/null', path.join(d, 'p.svg'), path.join(d, 'p.png'), path.join(d, 'm.nasx'), path.join(d, 'm.onnx'), 'relative.out', '']);
  }
  switch (flag) {
    case 'dataset':
      return rng.pick(['digits', fx.csvFile, path.join(d, 'missing.csv'), 'nope', d, `${fx.csvFile}.gz`, randomString(rng).replace(/fashion/gi, 'x')]);
    case 'task':
      return rng.pick(['classification', 'regression', 'Regression', '', randomString(rng)]);
    case 'label':
      return rng.pick(['label', 'f1', '0', '-1', '99', '3', '', randomString(rng)]);
    case 'space': {
      if (rng.chance(0.3)) {
        const file = path.join(d, `space-${rng.u32()}.json`);
        writeFileSync(file, JSON.stringify(mutateValue(rng, rng.pick(fx.spaces), {}, 'space'), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? '');
        return file;
      }
      return rng.pick(['mlp', 'cnn', 'nb201', fx.spaceFile, path.join(d, 'missing.json'), d, fx.csvFile, randomString(rng)]);
    }
    case 'strategy':
      return rng.pick(['random', 'evolution', 'local', 'reinforce', 'bo', 'mcts', 'RANDOM', '', randomString(rng)]);
    case 'strategies':
      return rng.pick(['random', 'all', 'random,evolution', 'bo,mcts', ',', 'random,,local', 'nope', randomString(rng)]);
    case 'benchmark':
      return rng.pick(['nb201/cifar10', 'nb201/cifar100', 'nb201/ImageNet16-120', 'all', 'nb201/cifar10,nb201/cifar100', 'nb201', randomString(rng)]);
    case 'optimizer':
      return rng.pick(['sgd', 'adamw', 'adam', '', randomString(rng)]);
    case 'inherit':
      return rng.pick([fx.modelFile, path.join(d, 'missing.nasx'), fx.csvFile, d, '', randomString(rng)]);
    case 'max-memory':
      return rng.pick(['4G', '16M', '1', '1K', '0', '-1', '1e30', '9999999999999999999T', 'abc', '1.5G', '', '1M', rng.pick(NUMBER_TEXTS)]);
    case 'arch': {
      const arch = rng.chance(0.7) ? mutateValue(rng, rng.pick(fx.archs), {}, 'arch') : rng.pick(fx.archs);
      return rng.chance(0.85) ? JSON.stringify(arch, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? '' : rng.pick(['', '{', 'null', d, path.join(d, 'missing.json'), fx.spaceFile]);
    }
    case 'candidates': {
      const file = path.join(d, `c-${rng.u32()}.jsonl`);
      const lines = Array.from({ length: 1 + rng.below(3) }, () => JSON.stringify(rng.chance(0.6) ? rng.pick(fx.archs) : mutateValue(rng, rng.pick(fx.archs), {}, 'candidate'), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? '');
      writeFileSync(file, rng.chance(0.2) ? `${lines.join('\n')}\n\n{` : `${lines.join('\n')}\n`);
      return rng.chance(0.9) ? file : rng.pick([d, path.join(d, 'missing.jsonl')]);
    }
    case 'opset':
      return rng.pick(['17', '21', '16', '22', rng.pick(NUMBER_TEXTS)]);
    default:
      return rng.chance(0.7) ? rng.pick(NUMBER_TEXTS) : randomString(rng);
  }
}

/** Caps work-size flags and keeps values from reaching Fashion-MNIST (which would download). */
function sanitize(args: string[]): string[] {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(out[i]!);
    if (!m) continue;
    const flag = m[1]!;
    const hasInline = m[2] !== undefined;
    const at = hasInline ? i : i + 1;
    const raw = hasInline ? m[2]! : out[i + 1];
    if (raw === undefined) continue;
    let value = raw;
    const cap = CAPS[flag];
    if (cap !== undefined && Number.isFinite(Number(value)) && Number(value) > cap) value = String(cap);
    if (flag === 'dataset' && /fashion/i.test(value)) value = 'digits';
    if (value !== raw) {
      if (hasInline) out[at] = `--${flag}=${value}`;
      else out[at] = value;
    }
  }
  return out;
}

export function cliCase(rng: FuzzRng, fx: CliFixtures): CliCase {
  const command = rng.chance(0.05) ? rng.pick(['', 'Search', 'help', '--version', 'nope']) : rng.pick(COMMANDS);
  const known = (COMMANDS as readonly string[]).includes(command) ? (command as (typeof COMMANDS)[number]) : undefined;
  let args = known ? baseArgs(known, fx) : [command];
  const notes: string[] = [];
  const edits = rng.chance(0.5) ? 1 : 2 + rng.below(2);
  for (let e = 0; e < edits && known; e++) {
    const flags = FLAGS[known];
    const flag = rng.pick(flags);
    const r = rng.below(12);
    const idx = args.indexOf(`--${flag}`);
    if (r < 6) {
      // set (or add) a flag
      const value = valueFor(rng, flag, fx);
      if (BOOLEAN_FLAGS.has(flag)) {
        if (idx < 0) args.push(`--${flag}`);
        if (rng.chance(0.2)) args.push(`--${flag}=${value}`);
        notes.push(`--${flag}`);
      } else if (idx >= 0) {
        args[idx + 1] = value;
        notes.push(`--${flag} ${JSON.stringify(value)}`);
      } else if (rng.chance(0.2)) {
        args.push(`--${flag}=${value}`);
        notes.push(`--${flag}=${JSON.stringify(value)}`);
      } else {
        args.push(`--${flag}`, value);
        notes.push(`--${flag} ${JSON.stringify(value)}`);
      }
    } else if (r < 8) {
      // remove a flag that is there
      const present = args.map((a, i) => [a, i] as const).filter(([a]) => a.startsWith('--'));
      if (present.length === 0) continue;
      const [name, i] = rng.pick(present);
      const boolean = BOOLEAN_FLAGS.has(name.slice(2)) || name.includes('=');
      args.splice(i, boolean ? 1 : 2);
      notes.push(`removed ${name}`);
    } else if (r === 8) {
      args.push(rng.pick(['--bogus', '-x', '--', '---', '--budget']));
      notes.push(`added ${args[args.length - 1]}`);
    } else if (r === 9) {
      args.push(`--${flag}`); // a flag with its value missing (at the end)
      notes.push(`--${flag} without a value`);
    } else if (r === 10) {
      const junk = rng.pick(['extra', '-', '-1', fx.modelFile, randomString(rng)]);
      args.splice(1 + rng.below(args.length), 0, junk);
      notes.push(`positional ${JSON.stringify(junk)}`);
    } else {
      args.push(`--${flag}`, `-${rng.pick(['1', 'x', '-json'])}`); // a value that looks like a flag
      notes.push(`--${flag} with a value starting with "-"`);
    }
  }
  // A command line cannot hold NUL characters.
  args = sanitize(args).map((a) => a.replace(/\0/g, ''));
  return { args, notes };
}

export interface CliOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Why the watchdog killed it. */
  killed?: string;
}

/** Runs bin/nasx.js with `args` in `cwd`, killing it past `timeoutMs` or `maxResidentBytes`. */
export function runNasx(args: string[], cwd: string, timeoutMs = 60_000, maxResidentBytes = 3 * 2 ** 30): Promise<CliOutcome> {
  const start = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'nasx.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-20000)));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
  let killed: string | undefined;
  const watchdog = setInterval(() => {
    const rss = residentBytes(child.pid!);
    if (rss > maxResidentBytes) {
      killed = `grew to ${(rss / 2 ** 30).toFixed(1)} GiB resident`;
      child.kill('SIGKILL');
    } else if (performance.now() - start > timeoutMs) {
      killed = `still running after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }
  }, 50);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start, ...(killed ? { killed } : {}) });
    }),
  );
}

const STACK_LINE = /^\s+at .+(\(.+:\d+:\d+\)|:\d+:\d+)$/m;

/** Why an outcome is not acceptable, or undefined when it is. */
export function judgeCli(o: CliOutcome): string | undefined {
  if (o.killed) return `killed: ${o.killed}`;
  if (o.signal) return `died of signal ${o.signal}`;
  if (![0, 1, 2, 130].includes(o.code ?? -1)) return `exit status ${o.code}`;
  if (STACK_LINE.test(o.stderr)) return `a stack trace on stderr: ${o.stderr.trim().split('\n').slice(0, 6).join(' | ')}`;
  if (o.code === 2) {
    const lines = o.stderr.trim().split('\n').filter((l) => l !== '');
    // `nasx` with no command prints its usage and exits 2; every other usage error is one line.
    if (lines.length === 0 && o.stdout.startsWith('Usage:')) return undefined;
    if (lines.length !== 1 || !lines[0]!.startsWith('nasx: ')) return `a usage error (status 2) whose stderr is not one "nasx: ..." line: ${JSON.stringify(o.stderr.slice(0, 300))}`;
  }
  if (o.code === 1) {
    const last = o.stderr.trim().split('\n').pop() ?? '';
    if (!/^nasx: \S/.test(last) && !/"status":"(?!ok)/.test(o.stdout) && !/\b(diverged|invalid|failed|oom)\b/.test(o.stdout + o.stderr)) {
      return `status 1 without a "nasx: ..." message or a failed candidate: ${JSON.stringify(o.stderr.slice(-300))}`;
    }
  }
  return undefined;
}
