// Running the nasx command in the background, for the CLI tests that act during a run (signals)
// without timing: they wait for what nasx prints.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../lib/util/package-root.js';

const bin = path.join(packageRoot(), 'bin', 'nasx.js');

export interface NasxRun {
  child: ReturnType<typeof spawn>;
  stdout: string;
  stderr: string;
  /** The exit status (null when killed by a signal). */
  exit: Promise<number | null>;
}

/** Starts nasx in the background, collecting what it prints. */
export function startNasx(...args: string[]): NasxRun {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: NasxRun = { child, stdout: '', stderr: '', exit: new Promise((resolve) => child.on('close', resolve)) };
  child.stdout!.on('data', (d) => (run.stdout += d));
  child.stderr!.on('data', (d) => (run.stderr += d));
  return run;
}

/** Resolves once nasx has printed text matching `pattern` on stderr; rejects if it ends first. */
export function waitForStderr(run: NasxRun, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      run.child.stderr!.off('data', check);
      run.child.off('close', ended);
    };
    const check = () => {
      if (pattern.test(run.stderr)) {
        done();
        resolve();
      }
    };
    const ended = (code: number | null) => {
      done();
      reject(new Error(`nasx ended (status ${code}) before printing ${pattern}:\n${run.stderr}`));
    };
    run.child.stderr!.on('data', check);
    run.child.on('close', ended);
    check();
  });
}
