/**
 * Child process of `runCases` (scripts/fuzz/cases.ts): runs calls [from, count) of a suite, printing
 * a JSON line before and after each (written synchronously, so that the last "start" survives a crash).
 *
 *   node --import tsx scripts/fuzz/run-cases.ts <api|native> <seed> <from> <count>
 *   node --import tsx scripts/fuzz/run-cases.ts <api|native> <seed> <index>      (one call, verbose)
 */
import { writeSync } from 'node:fs';
import type { CaseLine, CaseSuite, FuzzCall } from './cases.js';
import { FuzzRng } from './mutate.js';
import { show, startEditLog, takeEditLog } from './random-value.js';
import { describeThrown, judgeThrown } from './verdict.js';

function emit(line: CaseLine): void {
  writeSync(1, `${JSON.stringify(line)}\n`);
}

async function loadSuite(name: string): Promise<CaseSuite<unknown>> {
  if (name === 'api') return (await import('./api-cases.js')).API_SUITE as CaseSuite<unknown>;
  if (name === 'native') return (await import('./native-cases.js')).NATIVE_SUITE as CaseSuite<unknown>;
  throw new RangeError(`Expected one of "api", "native" for the suite but received ${JSON.stringify(name)}`);
}

/** Call `index` of a suite: generator `index mod n`, arguments from a generator seeded by (seed, index). */
function makeCall<F>(suite: CaseSuite<F>, fixtures: F, seed: number, index: number): FuzzCall {
  const generator = suite.generators[index % suite.generators.length]!;
  const rng = new FuzzRng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  startEditLog();
  try {
    const call = generator.make(rng, fixtures);
    call.notes = takeEditLog();
    return call;
  } finally {
    takeEditLog();
  }
}

async function settle(call: FuzzCall): Promise<{ threw: boolean; error?: unknown }> {
  // Rejections the call leaves behind (a promise it started but did not return) are its errors too.
  let stray: unknown;
  let strayThrown = false;
  const onStray = (err: unknown) => {
    if (!strayThrown) {
      strayThrown = true;
      stray = err;
    }
  };
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
  try {
    const value = call.call();
    if (value && typeof (value as Promise<unknown>).then === 'function') await value;
    await new Promise((resolve) => setImmediate(resolve));
    if (strayThrown) return { threw: true, error: stray };
    return { threw: false };
  } catch (error) {
    return { threw: true, error };
  } finally {
    process.off('unhandledRejection', onStray);
    process.off('uncaughtException', onStray);
  }
}

async function main(): Promise<void> {
  const [suiteName = 'api', seedText = '1', fromText = '0', countText] = process.argv.slice(2);
  const suite = await loadSuite(suiteName);
  const fixtures = await suite.setup();
  const seed = Number(seedText);
  const from = Number(fromText);
  const single = countText === undefined;
  const count = single ? from + 1 : Number(countText);
  emit({ type: 'ready' });
  for (let index = from; index < count; index++) {
    let call: FuzzCall;
    try {
      call = makeCall(suite, fixtures, seed, index);
    } catch (err) {
      emit({ type: 'start', index, fn: '(generator)', args: '', notes: [], timeoutMs: 10_000 });
      emit({ type: 'end', index, fn: '(generator)', ok: false, returned: false, reason: `the case generator failed: ${describeThrown(err)}`, stack: (err as Error).stack, ms: 0 });
      continue;
    }
    const args = call.args.map((a) => show(a)).join(', ');
    emit({ type: 'start', index, fn: call.fn, args, notes: call.notes ?? [], timeoutMs: call.timeoutMs ?? 10_000 });
    const start = performance.now();
    const outcome = await settle(call);
    const ms = performance.now() - start;
    if (!outcome.threw) {
      emit({ type: 'end', index, fn: call.fn, ok: true, returned: true, ms });
      if (single) process.stderr.write(`${call.fn}(${args}) returned\n`);
      continue;
    }
    const verdict = judgeThrown(outcome.error, call.verdict);
    const stack = outcome.error instanceof Error ? outcome.error.stack : undefined;
    emit({ type: 'end', index, fn: call.fn, ok: verdict.ok, returned: false, ...(verdict.ok ? {} : { reason: verdict.reason, stack }), ms });
    if (single && call.notes?.length) process.stderr.write(`made by: ${call.notes.join('; ')}\n`);
    if (single) process.stderr.write(`${call.fn}(${args}) threw ${describeThrown(outcome.error)}\n${verdict.ok ? 'a correct refusal' : `FINDING: ${verdict.reason}\n${stack ?? ''}`}\n`);
  }
  emit({ type: 'finished' });
}

await main();
// Native work a call started (training, rollouts) must not keep the child alive.
process.exit(0);
