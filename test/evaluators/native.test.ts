/**
 * NativeEvaluator's argument checks (its training is tested through trainCandidates in
 * test/train.test.ts and through studies in the scheduler and latency tests).
 */
import test from 'ava';
import { describeValue } from '../../lib/errors.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';

test('new NativeEvaluator refuses options that are not an object, a missing data set and a build that is not a function', (t) => {
  for (const options of [undefined, null, 'digits', []]) {
    t.throws(() => new NativeEvaluator(options as never), { instanceOf: TypeError, message: `Expected an object for options but received ${describeValue(options)}` });
  }
  t.throws(() => new NativeEvaluator({} as never), { instanceOf: TypeError, message: 'Expected a Dataset or a data set source for options.dataset but received undefined' });
  t.throws(() => new NativeEvaluator({ dataset: 'digits', build: 'mlp' as never }), { instanceOf: TypeError, message: 'Expected a function for options.build but received "mlp" of type string' });
  t.throws(() => new NativeEvaluator({ dataset: 'digits', train: { epochs: -1 } }), { instanceOf: RangeError, message: 'Expected an integer between 0 and 100000 for options.epochs but received -1 of type number' });
  t.notThrows(() => new NativeEvaluator({ dataset: 'digits' }));
});

test('maxParams: a candidate over the limit comes back invalid, untrained, with its parameter count; the others train', async (t) => {
  t.throws(() => new NativeEvaluator({ dataset: 'digits', maxParams: 0 }), { instanceOf: RangeError, message: /options\.maxParams/ });
  // digits: 8×8×1 in, 10 classes. 64·16+16 + 16·10+10 = 1210 parameters; 64·64+64 + 64·10+10 = 4810.
  const small = { type: 'mlp', layers: [{ units: 16 }] } as const;
  const large = { type: 'mlp', layers: [{ units: 64 }] } as const;
  const ev = new NativeEvaluator({ dataset: 'digits', train: { epochs: 1, seed: 0 }, maxParams: 2000 });
  const [a, b] = await ev.evaluate([small, large]);
  t.is(a!.status, 'ok');
  t.is(a!.cost?.params, 1210);
  t.true(typeof a!.metrics.score === 'number' && a!.metrics.score > 0.1);
  t.is(b!.status, 'invalid');
  t.is(b!.metrics.score, null);
  t.is(b!.error, 'the architecture has 4810 parameters, over the limit of 2000 (maxParams)');
  t.is(b!.seconds, 0);
});
