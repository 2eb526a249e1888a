// Running the nasx command in the background, for the CLI tests that act during a run (signals,
// files changed under it) without timing: they wait for what nasx prints or opens.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
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

/**
 * Makes `fifo` a named pipe, starts nasx with `start` (which names the pipe as an input file), and
 * once nasx opens the pipe calls `meanwhile`, then feeds it `content`. This changes the file system
 * at a known point of a run — after nasx checked its flags, before it loaded its input — with no
 * timing involved.
 */
export async function feedThroughFifo(fifo: string, content: string | Uint8Array, start: () => NasxRun, meanwhile: () => void): Promise<NasxRun> {
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  // Opening a FIFO for writing waits for its reader: nasx opening its input.
  const opening = open(fifo, 'w');
  const run = start();
  const first = await Promise.race([opening.then(() => 'opened'), run.exit.then(() => 'ended')]);
  if (first === 'ended') {
    closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)); // releases the waiting open
    await (await opening).close();
    throw new Error(`nasx ended before reading ${fifo}:\n${run.stderr}`);
  }
  const handle = await opening;
  meanwhile();
  await handle.writeFile(content);
  await handle.close();
  return run;
}
