import test from 'ava';
import { NasxError } from '../../lib/errors.js';
import { NB201_OPS, nb201Key, parseNb201Key } from '../../lib/evaluators/nb201-key.js';
import { getTabularBenchmark } from '../../lib/evaluators/tabular.js';

test('edges map to the benchmark string in order 1←0, 2←0, 2←1, 3←0, 3←1, 3←2', (t) => {
  const key = nb201Key({
    type: 'nb201',
    edges: ['nor_conv_3x3', 'nor_conv_1x1', 'nor_conv_3x3', 'skip_connect', 'nor_conv_1x1', 'avg_pool_3x3'],
  });
  t.is(key, '|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|');
  t.deepEqual(NB201_OPS, ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']);
});

test('every string of the table round-trips through parseNb201Key and nb201Key', async (t) => {
  const bench = await getTabularBenchmark('nb201/cifar10');
  let mismatches = 0;
  for (const row of bench.rows()) if (nb201Key(parseNb201Key(row.key)) !== row.key) mismatches++;
  t.is(mismatches, 0);
  t.is(new Set(bench.rows().map((r) => r.key)).size, 15625);
});

test('malformed cells and strings are rejected with the field named', (t) => {
  const cases: [unknown, string][] = [
    [null, 'Expected an object for arch but received null'],
    [{ type: 'cnn', edges: [] }, 'Expected "nb201" for arch.type but received "cnn" of type string'],
    [{ type: 'nb201', edges: 'none' }, 'Expected an array of 6 operations for arch.edges but received "none" of type string'],
    [
      { type: 'nb201', edges: ['none', 'none', 3, 'none', 'none', 'none'] },
      'Expected one of "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3" for arch.edges[2] but received 3 of type number',
    ],
  ];
  for (const [arch, message] of cases) {
    const error = t.throws(() => nb201Key(arch), { instanceOf: NasxError, message });
    t.is(error.code, 'ERR_NASX_INVALID_ARCH');
  }
  t.throws(() => parseNb201Key('|none~0|+|none~0|none~1|'), {
    instanceOf: NasxError,
    message: 'Invalid NAS-Bench-201 architecture string "|none~0|+|none~0|none~1|": expected 3 groups separated by "+"',
  });
  t.throws(() => parseNb201Key('|none~0|+|none~0|none~0|+|none~0|none~1|none~2|'), {
    instanceOf: NasxError,
    message: 'Invalid NAS-Bench-201 architecture string "|none~0|+|none~0|none~0|+|none~0|none~1|none~2|": edge 3 is "none~0", expected "<op>~1"',
  });
});
