import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError } from '../../lib/errors.js';
import type { EvalProgress, EvalResult } from '../../lib/evaluators/evaluator.js';
import { FunctionEvaluator } from '../../lib/evaluators/function.js';

/** A function that records how many calls run at once. */
function tracked(ms: (i: number) => number) {
  const stats = { inFlight: 0, maxInFlight: 0, started: [] as number[] };
  const fn = async (arch: number, _fidelity: unknown, { candidate }: { candidate: number }) => {
    stats.started.push(candidate);
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    await sleep(ms(arch));
    stats.inFlight--;
    return { score: arch / 10, loss: 1 - arch / 10 };
  };
  return { fn, stats };
}

test('concurrency bounds the calls in flight; results come back in candidate order', async (t) => {
  for (const concurrency of [1, 3, 8]) {
    const { fn, stats } = tracked((i) => 2 + ((i * 7) % 5) * 3);
    const evaluator = new FunctionEvaluator(fn, { concurrency });
    const archs = Array.from({ length: 10 }, (_, i) => i);
    const results = await evaluator.evaluate(archs, { epochs: 1 });
    t.is(stats.maxInFlight, Math.min(concurrency, 10), `concurrency ${concurrency}`);
    t.deepEqual(results.map((r) => r.arch), archs);
    t.deepEqual(results.map((r) => r.status), archs.map(() => 'ok'));
    t.deepEqual(results[4]!.metrics, { score: 0.4, loss: 0.6 });
    t.true(results.every((r) => r.seconds > 0));
  }
  t.is(new FunctionEvaluator(async () => 1).concurrency, 1);
});

test('a throw fails only its candidate, with the message; a non-finite score is diverged', async (t) => {
  const evaluator = new FunctionEvaluator<string>(
    async (arch) => {
      switch (arch) {
        case 'throws': throw new Error('CUDA out of memory');
        case 'throws-string': throw 'plain string';
        case 'nan': return NaN;
        case 'inf-object': return { score: Infinity, trainLoss: NaN, steps: 10 };
        case 'no-score': return { loss: 0.5 } as never;
        case 'text': return 'high' as never;
        case 'bad-metric': return { score: 1, note: 'x' } as never;
        default: return 0.75;
      }
    },
    { concurrency: 2 },
  );
  const archs = ['ok', 'throws', 'throws-string', 'nan', 'inf-object', 'no-score', 'text', 'bad-metric'];
  const results = await evaluator.evaluate(archs, {});
  t.deepEqual(
    results.map((r) => [r.status, r.error, r.metrics]),
    [
      ['ok', undefined, { score: 0.75 }],
      ['failed', 'CUDA out of memory', { score: null }],
      ['failed', 'plain string', { score: null }],
      ['diverged', 'the score is NaN', { score: null }],
      ['diverged', 'the score is Infinity', { score: null, trainLoss: null, steps: 10 }],
      ['failed', 'Expected a number or an object with a numeric score from the function but received an object with score undefined', { score: null }],
      ['failed', 'Expected a number or an object with a numeric score from the function but received "high" of type string', { score: null }],
      ['failed', 'Expected a number or null for the metric "note" but the function returned "x" of type string', { score: null }],
    ],
  );
});

test('abort: pending candidates never start, running ones see the signal, finished ones are kept', async (t) => {
  const controller = new AbortController();
  const started: number[] = [];
  const evaluator = new FunctionEvaluator<number>(
    async (arch, _fidelity, { signal }) => {
      started.push(arch);
      if (arch === 0) return 1; // finishes before the abort
      if (arch === 2) controller.abort();
      await sleep(10_000, undefined, { signal }); // rejects as soon as the batch is aborted
      return 2;
    },
    { concurrency: 2 },
  );
  const before = performance.now();
  const error = await t.throwsAsync(evaluator.evaluate([0, 1, 2, 3, 4, 5], {}, { signal: controller.signal }), {
    instanceOf: AbortError,
    message: 'evaluation was aborted',
  });
  t.true(performance.now() - before < 5000);
  t.deepEqual(started, [0, 1, 2]);
  t.is(error.code, 'ERR_NASX_ABORTED');
  const kept = error.results as EvalResult<number>[];
  t.deepEqual(kept.map((r) => [r.arch, r.status]), [[0, 'ok']]);
});

test('an already aborted signal rejects without calling the function', async (t) => {
  let calls = 0;
  const evaluator = new FunctionEvaluator(async () => ++calls);
  await t.throwsAsync(evaluator.evaluate([1, 2], {}, { signal: AbortSignal.abort() }), {
    instanceOf: AbortError,
    message: 'evaluation was aborted before it started',
  });
  t.is(calls, 0);
});

test('progress: a start and an end per candidate, and what the function reports in between', async (t) => {
  const events: EvalProgress[] = [];
  const evaluator = new FunctionEvaluator<string>(async (arch, _f, { progress }) => {
    progress(0.5, `half of ${arch}`);
    if (arch === 'b') throw new Error('boom');
    return 1;
  });
  await evaluator.evaluate(['a', 'b'], {}, { onProgress: (e) => events.push(e) });
  t.deepEqual(events, [
    { candidate: 0, fraction: 0 },
    { candidate: 0, fraction: 0.5, message: 'half of a' },
    { candidate: 0, fraction: 1, message: 'ok' },
    { candidate: 1, fraction: 0 },
    { candidate: 1, fraction: 0.5, message: 'half of b' },
    { candidate: 1, fraction: 1, message: 'failed' },
  ]);
});

test('the function gets the fidelity; bad arguments are named', async (t) => {
  const seen: unknown[] = [];
  const evaluator = new FunctionEvaluator(async (_arch, fidelity) => {
    seen.push(fidelity);
    return 1;
  });
  await evaluator.evaluate([1], { epochs: 5, dataFraction: 0.5 });
  t.deepEqual(seen, [{ epochs: 5, dataFraction: 0.5 }]);
  t.throws(() => new FunctionEvaluator(async () => 1, { concurrency: 0 }), {
    instanceOf: RangeError,
    message: 'Expected an integer >= 1 for concurrency but received 0 of type number',
  });
  t.throws(() => new FunctionEvaluator('train.py' as never), {
    instanceOf: TypeError,
    message: 'Expected a function for fn but received "train.py" of type string',
  });
  await t.throwsAsync(evaluator.evaluate(1 as never, {}), {
    instanceOf: TypeError,
    message: 'Expected an array for candidates but received 1 of type number',
  });
});
