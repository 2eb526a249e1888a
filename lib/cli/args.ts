/**
 * Command-line flag parsing shared by every `nasx` command: strict flags, numbers checked with the
 * same wording as the library's argument errors.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { NasxError } from '../errors.js';
import { checkWritable } from '../util/write-file-atomic.js';

/** A usage error: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues<T extends FlagSpec> = { [K in keyof T]?: T[K] extends { type: 'boolean' } ? boolean : string };

export function parseFlags<T extends FlagSpec>(
  argv: string[],
  options: T,
  allowPositionals = false,
): { values: FlagValues<T>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: parsed.values as FlagValues<T>, positionals: parsed.positionals };
  } catch (err) {
    const e = err as Error & { code?: string };
    const m = /Unknown option '([^']+)'/.exec(e.message);
    if (m) {
      const known = Object.keys(options).map((k) => `--${k}`).join(', ');
      throw new UsageError(`Unknown flag ${m[1]}; known flags are ${known}`);
    }
    const v = /Option '([^']+)' argument missing/.exec(e.message);
    if (v) throw new UsageError(`Flag ${v[1]!.split(',').pop()!.trim().replace(/ <value>$/, '')} needs a value`);
    const a = /Option '([^']+)' argument is ambiguous/.exec(e.message);
    if (a) {
      const flag = a[1]!.split(',').pop()!.trim().replace(/ <value>$/, '');
      throw new UsageError(`Flag ${flag} has a value starting with "-"; write it as ${flag}=VALUE`);
    }
    throw new UsageError(e.message.split('\n')[0]!);
  }
}

function received(raw: string): string {
  return `${JSON.stringify(raw)}`;
}

export function intFlag(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`Expected ${expected} for --${name} but received ${received(raw)}`);
  }
  return v;
}

export function numberFlag(
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
  exclusiveMin = false,
): number | undefined {
  if (raw === undefined) return undefined;
  const expected = exclusiveMin ? `a number greater than ${min} and at most ${max}` : `a number between ${min} and ${max}`;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (exclusiveMin ? v <= min : v < min) || v > max) {
    throw new UsageError(`Expected ${expected} for --${name} but received ${received(raw)}`);
  }
  return v;
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A size in bytes: a number with an optional binary unit (K, M, G, T, optionally followed by "iB" or "B"). */
export function bytesFlag(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(raw);
  const v = m ? Math.floor(Number(m[1]) * BYTE_UNITS[m[2]!.toLowerCase()]!) : Number.NaN;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new UsageError(`Expected a size in bytes of at least ${min} (e.g. 512M, 4G, 1.5GiB) for --${name} but received ${received(raw)}`);
  }
  return v;
}

export function choiceFlag<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`Expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} for --${name} but received ${received(raw)}`);
  }
  return raw as T;
}

/**
 * Refuses, before any work, an output path (`--out`, `--save`, `--export`) that the final write
 * could not use, so that a long run never ends in a lost result.
 */
export async function checkOutputFlag(flag: string, file: string | undefined): Promise<void> {
  if (file === undefined) return;
  try {
    await checkWritable(file, flag);
  } catch (err) {
    if (err instanceof NasxError && err.code === 'ERR_NASX_IO') throw new UsageError(err.message);
    throw err;
  }
}

/**
 * The text of an input file named by a flag; a directory or an unreadable file is a usage error
 * naming the flag (`what` says what the file should have been, e.g. "an architecture file").
 */
export function readFlagFile(flag: string, file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new UsageError(`${flag} is a directory, not ${what}: ${file}`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`${flag} cannot be read (permission denied): ${file}`);
    throw new UsageError(`${flag} cannot be read: ${file}: ${(err as Error).message}`);
  }
}
