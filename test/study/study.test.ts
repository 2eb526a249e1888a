import test from 'ava';
import { AbortError, describeValue } from '../../lib/errors.js';
import type { EvalResult, Evaluator } from '../../lib/evaluators/evaluator.js';
import { Study, type Trial } from '../../lib/study/study.js';
import { toyEvaluator, toyScore, toySpace, type Toy } from '../strategies/toy-space.js';

const target = [1, 2, 3, 0, 1];

test('for await yields every trial in completion order, and events fire', async (t) => {
  const study = new Study<Toy>({ space: toySpace(), strategy: 'random', evaluator: toyEvaluator(target), budget: { evaluations: 12 }, parallel: 5, seed: 2 });
  const events: Trial<Toy>[] = [];
  let progress = 0;
  study.on('trial', (tr) => events.push(tr));
  study.on('progress', () => progress++);
  const seen: Trial<Toy>[] = [];
  for await (const trial of study) seen.push(trial);
  t.is(seen.length, 12);
  t.deepEqual(seen.map((s) => s.index), [...Array(12).keys()]);
  t.deepEqual(events, seen);
  t.is(progress, 3); // batches of 5, 5, 2
  const summary = await study.run();
  t.is(summary.best!.score, Math.max(...seen.map((s) => s.score!)));
  t.deepEqual(study.top(3).map((x) => x.score), [...seen.map((s) => s.score!)].sort((a, b) => b - a).slice(0, 3));
});

test('a failing candidate is recorded as failed and the study goes on', async (t) => {
  const evaluator: Evaluator<Toy> = {
    name: 'flaky',
    async evaluate(candidates) {
      return candidates.map((arch): EvalResult<Toy> =>
        arch[0] === 0
          ? { arch, status: 'failed', error: 'out of memory', metrics: { score: null }, seconds: 0 }
          : { arch, status: 'ok', metrics: { score: toyScore(arch, target) }, seconds: 0 },
      );
    },
  };
  const summary = await new Study<Toy>({ space: toySpace(), strategy: 'evolution', evaluator, budget: { evaluations: 40 }, parallel: 4, seed: 1 }).run();
  t.is(summary.trials.length, 40);
  const failed = summary.trials.filter((x) => x.status === 'failed');
  t.true(failed.length > 0);
  for (const f of failed) {
    t.is(f.score, null);
    t.is(f.error, 'out of memory');
  }
  t.not(summary.best!.arch[0], 0);
});

test('aborting keeps the results gathered so far and marks the study interrupted', async (t) => {
  const controller = new AbortController();
  let batches = 0;
  const evaluator: Evaluator<Toy> = {
    name: 'slow',
    async evaluate(candidates, _fidelity, opts) {
      batches++;
      if (batches === 3) {
        controller.abort();
        // Like the native evaluator: the first candidate finished before the abort took effect.
        throw new AbortError<EvalResult<Toy>>('aborted', [{ arch: candidates[0]!, status: 'ok', metrics: { score: 0.5 }, seconds: 0 }]);
      }
      t.false(opts?.signal?.aborted);
      return candidates.map((arch) => ({ arch, status: 'ok' as const, metrics: { score: toyScore(arch, target) }, seconds: 0 }));
    },
  };
  const summary = await new Study<Toy>({ space: toySpace(), strategy: 'random', evaluator, budget: { evaluations: 100 }, parallel: 2, seed: 1, signal: controller.signal }).run();
  t.is(summary.status, 'interrupted');
  t.is(summary.trials.length, 5);
});

test('a wall-time budget stops between batches', async (t) => {
  const evaluator: Evaluator<Toy> = {
    name: 'sleepy',
    async evaluate(candidates) {
      await new Promise((r) => setTimeout(r, 40));
      return candidates.map((arch) => ({ arch, status: 'ok' as const, metrics: { score: 0 }, seconds: 0.04 }));
    },
  };
  const summary = await new Study<Toy>({ space: toySpace(), strategy: 'random', evaluator, budget: { seconds: 0.2 }, seed: 1 }).run();
  t.is(summary.status, 'done');
  t.true(summary.trials.length >= 2 && summary.trials.length <= 8, `${summary.trials.length} trials`);
});

test('study options are checked with clear messages', (t) => {
  const base = { space: toySpace(), strategy: 'random', evaluator: toyEvaluator(target) };
  t.throws(() => new Study<Toy>({ ...base, budget: {} }), { instanceOf: RangeError, message: 'Expected options.budget to set evaluations, epochs and/or seconds but received none' });
  t.throws(() => new Study<Toy>({ ...base, budget: { evaluations: 0 } }), {
    instanceOf: RangeError,
    message: 'Expected an integer >= 1 for options.budget.evaluations but received 0 of type number',
  });
  t.throws(() => new Study<Toy>({ ...base, budget: { evaluations: -5 } }), { instanceOf: RangeError });
  t.throws(() => new Study<Toy>({ ...base, budget: { seconds: 0 } }), {
    instanceOf: RangeError,
    message: 'Expected a number greater than 0 for options.budget.seconds but received 0 of type number',
  });
  t.throws(() => new Study<Toy>({ ...base, budget: { evaluations: 3 }, parallel: 0 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and 4096 for options.parallel but received 0 of type number',
  });
});

test('a study without a space, a strategy or an evaluator is refused when it is made, not when it runs', (t) => {
  const base = { space: toySpace(), strategy: 'random', evaluator: toyEvaluator(target), budget: { evaluations: 3 } };
  const make = (change: Record<string, unknown>) => () => new Study<Toy>({ ...base, ...change } as never);
  t.throws(make({ space: undefined }), { instanceOf: TypeError, message: 'Expected a search space for options.space but received undefined' });
  t.throws(make({ space: true }), { instanceOf: TypeError, message: 'Expected a search space for options.space but received true of type boolean' });
  t.throws(make({ space: { sample: () => [] } }), { instanceOf: TypeError, message: 'Expected a search space (an object with a mutate method) for options.space but received an object' });
  for (const strategy of [undefined, {}, 5]) {
    t.throws(make({ strategy }), {
      instanceOf: TypeError,
      message: `Expected a strategy name or a Strategy (an object with ask and tell methods) for options.strategy but received ${describeValue(strategy)}`,
    });
  }
  for (const evaluator of [undefined, false, { evaluate: 1 }]) {
    t.throws(make({ evaluator }), {
      instanceOf: TypeError,
      message: `Expected an evaluator (an object with an evaluate method) for options.evaluator but received ${describeValue(evaluator)}`,
    });
  }
});

test('options.fidelity is checked when the study is made', (t) => {
  const base = { space: toySpace(), strategy: 'random', evaluator: toyEvaluator(target), budget: { evaluations: 3 } };
  const make = (fidelity: unknown) => () => new Study<Toy>({ ...base, fidelity } as never);
  t.throws(make(null), { instanceOf: TypeError, message: 'Expected an object for options.fidelity but received null' });
  t.throws(make({ epochs: { nb201: [1] } }), { instanceOf: TypeError, message: 'Expected an integer between 1 and 100000 for options.fidelity.epochs but received an object' });
  t.throws(make({ epochs: 0 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 100000 for options.fidelity.epochs but received 0 of type number' });
  t.throws(make({ dataFraction: 0 }), { instanceOf: RangeError, message: 'Expected a number greater than 0 and at most 1 for options.fidelity.dataFraction but received 0 of type number' });
  t.throws(make({ resolution: 2.5 }), { instanceOf: RangeError, message: 'Expected an integer between 0 and 4096 for options.fidelity.resolution but received 2.5 of type number' });
  t.notThrows(make({ epochs: 3, dataFraction: 0.5 }));
});
