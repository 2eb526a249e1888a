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
