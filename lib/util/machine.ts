/**
 * A description of the machine figures were measured on, for benchmark reports and the settings
 * recorded beside tables: CPU model, x86 family/model and vector extensions (from /proc/cpuinfo on
 * Linux), hardware threads, memory, platform and Node version.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** "AMD EPYC (family 23, model 49; avx2, fma)", or the OS's CPU model name off Linux. */
export function cpuDescription(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    const flags = new Set((field('flags') ?? '').split(/\s+/));
    const vector = ['avx512f', 'avx2', 'fma'].filter((f) => flags.has(f)).join(', ');
    return `${field('model name') ?? 'unknown CPU'} (family ${field('cpu family') ?? '?'}, model ${field('model') ?? '?'}; ${vector || 'no AVX'})`;
  } catch {
    return cpus()[0]?.model ?? 'unknown CPU';
  }
}

/** The CPU, hardware threads, memory, platform and Node version. */
export function machineDescription(): string {
  return `${cpuDescription()}, ${cpus().length} hardware threads, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}-${process.arch}, Node ${process.version}`;
}
