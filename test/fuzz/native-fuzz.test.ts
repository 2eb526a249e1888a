// The raw native addon (`native()`: train, plan, loss, optimizerStep, cosineLr, Network and its
// methods, Dataset, mctsRollouts(Sync), the benchmark kernels) called with random and mutated
// arguments (scripts/fuzz/native-cases.ts) in child processes, so that a crash fails this test with
// the call that caused it instead of killing the test runner.
import test from 'ava';
import { formatFailures, runCases } from '../../scripts/fuzz/cases.js';

const SEED = 1;
const CALLS = 1000;

test(`${CALLS} random calls of the native addon (seed ${SEED}) each return or throw TypeError, RangeError or an Error with an ERR_NASX_ code`, async (t) => {
  const report = await runCases({ suite: 'native', seed: SEED, count: CALLS });
  t.log(`${report.calls} calls in ${report.seconds.toFixed(1)} s, ${report.restarts} restarts; per function (calls/returned): ${Object.entries(report.perFunction).map(([f, s]) => `${f} ${s.calls}/${s.returned}`).join(', ')}`);
  t.is(report.calls, CALLS);
  for (const [fn, s] of Object.entries(report.perFunction)) {
    if (fn !== '(generator)') t.true(s.returned > 0, `no call of ${fn} got past argument checking: the generator is too wild`);
  }
  if (report.failures.length > 0) t.fail(`${report.failures.length} of ${report.calls} calls did not end in a clear refusal:\n${formatFailures(report)}`);
});
