import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { NasxError } from '../../lib/errors.js';
import { parseCsv, readCsv } from '../../lib/data/csv.js';
import { tempDir } from './fixtures.js';

test('a header is detected; string labels become sorted class names', (t) => {
  const table = parseCsv('sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n');
  t.is(table.task, 'classification');
  t.is(table.count, 4);
  t.deepEqual(table.featureNames, ['sepal', 'petal']);
  t.deepEqual(table.labelNames, ['species']);
  t.deepEqual([...table.features], [5.1, 1.4, 7.0, 4.7, 6.3, 6.0, 4.9, 1.4].map(Math.fround));
  t.deepEqual(table.classNames, ['setosa', 'versicolor', 'virginica']);
  t.is(table.outputSize, 3);
  t.deepEqual([...table.labels], [0, 1, 2, 0]);
});

test('without a header the last column is the label; integer labels are class indices', (t) => {
  const table = parseCsv('0,16,3\n1,2,0\n4,4,1\n');
  t.deepEqual(table.featureNames, ['column 1', 'column 2']);
  t.deepEqual(table.labelNames, ['column 3']);
  t.deepEqual([...table.labels], [3, 0, 1]);
  t.deepEqual(table.classNames, ['0', '1', '2', '3']);
});

test('the label column is chosen by name or by index (negative counts from the end)', (t) => {
  const text = 'y,a,b\n1,0.5,2\n0,1.5,3\n';
  const byName = parseCsv(text, { labelColumn: 'y' });
  const byIndex = parseCsv(text, { labelColumn: 0 });
  const fromEnd = parseCsv(text, { labelColumn: -3 });
  for (const table of [byName, byIndex, fromEnd]) {
    t.deepEqual(table.featureNames, ['a', 'b']);
    t.deepEqual([...table.labels], [1, 0]);
  }
  t.throws(() => parseCsv(text, { labelColumn: 'z' }), {
    instanceOf: RangeError,
    message: 'Expected one of "y", "a", "b" for labelColumn but received "z" of type string',
  });
  t.throws(() => parseCsv(text, { labelColumn: 3 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between -3 and 2 for labelColumn but received 3 of type number',
  });
  t.throws(() => parseCsv('1,2\n3,4\n', { labelColumn: 'y' }), {
    instanceOf: RangeError,
    message: 'Expected a column index (the CSV file has no header row) for labelColumn but received "y" of type string',
  });
});

test('regression reads one or more numeric targets', (t) => {
  const table = parseCsv('x1,x2,t1,t2\n1,2,0.5,10\n3,4,1.5,20\n', { task: 'regression', labelColumn: ['t1', 't2'] });
  t.is(table.task, 'regression');
  t.is(table.outputSize, 2);
  t.true(table.labels instanceof Float32Array);
  t.deepEqual([...table.labels], [0.5, 10, 1.5, 20]);
  t.deepEqual([...table.features], [1, 2, 3, 4]);
  t.is(table.classNames, undefined);
  t.throws(() => parseCsv('a,b,c\n1,2,3\n', { labelColumn: ['b', 'c'] }), {
    instanceOf: RangeError,
    message: 'Expected a single column (task "classification") for labelColumn but received an array of length 2',
  });
});

test('a non-numeric feature is reported with file, line and column', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'data.csv');
  await writeFile(path, 'a,b,label\n1,2,0\n3,NaN,1\n');
  const error = await t.throwsAsync(readCsv(path), { instanceOf: NasxError });
  t.is(error.code, 'ERR_NASX_DATA');
  t.is(error.message, `Invalid feature value "NaN" in ${path} at line 3, column 2 ("b"): expected a finite number`);
  t.throws(() => parseCsv('1,2,0\n\n3,,1\n'), {
    instanceOf: NasxError,
    message: 'Invalid feature value "" in CSV text at line 3, column 2: expected a finite number',
  });
  t.throws(() => parseCsv('x,t\n1,abc\n', { task: 'regression' }), {
    instanceOf: NasxError,
    message: 'Invalid target value "abc" in CSV text at line 2, column 2 ("t"): expected a finite number',
  });
});

test('a data row with one bad value is not mistaken for a header', (t) => {
  t.throws(() => parseCsv('1,oops,0\n3,4,1\n'), {
    instanceOf: NasxError,
    message: 'Invalid feature value "oops" in CSV text at line 1, column 2: expected a finite number',
  });
  t.is(parseCsv('0,1,2\n3,4,5\n', { header: true }).count, 1);
});

test('labels out of range are rejected', (t) => {
  t.throws(() => parseCsv('f,label\n1,3\n2,12\n', { numClasses: 10 }), {
    instanceOf: NasxError,
    message: 'Invalid label "12" in CSV text at line 3, column 2 ("label"): expected an integer between 0 and 9',
  });
  t.throws(() => parseCsv('1,0\n2,-1\n'), {
    instanceOf: NasxError,
    message: 'Invalid label "-1" in CSV text at line 2, column 2: expected an integer >= 0',
  });
  t.throws(() => parseCsv('1,0\n2,2.5\n'), {
    instanceOf: NasxError,
    message:
      'Invalid label "2.5" in CSV text at line 2, column 2: expected an integer class index (use task: "regression" for numeric targets)',
  });
  t.throws(() => parseCsv('1,cat\n2,cow\n', { classNames: ['cat', 'dog'] }), {
    instanceOf: NasxError,
    message:
      'Invalid label "cow" in CSV text at line 2, column 2: expected one of the 2 class names or an integer between 0 and 1',
  });
  const named = parseCsv('1,dog\n2,0\n', { classNames: ['cat', 'dog'] });
  t.deepEqual([...named.labels], [1, 0]);
  t.deepEqual(named.classNames, ['cat', 'dog']);
});

test('an empty file, a header without rows and ragged rows are errors', async (t) => {
  const dir = await tempDir(t);
  const empty = join(dir, 'empty.csv');
  await writeFile(empty, '\n  \n');
  const error = await t.throwsAsync(readCsv(empty), { instanceOf: NasxError });
  t.is(error.code, 'ERR_NASX_DATA');
  t.is(error.message, `Empty CSV file ${empty}: no rows`);
  t.throws(() => parseCsv(''), { instanceOf: NasxError, message: 'Empty CSV file CSV text: no rows' });
  t.throws(() => parseCsv('a,b,label\n'), {
    instanceOf: NasxError,
    message: 'CSV file CSV text has a header but no data rows',
  });
  t.throws(() => parseCsv('a,b,label\n1,2,0\n3,1\n4,5,1\n', { source: 'ragged.csv' }), {
    instanceOf: NasxError,
    message: 'Ragged CSV row in ragged.csv at line 3: expected 3 fields (as on line 1) but found 2',
  });
});

test('quoted fields, CRLF line ends, a byte-order mark and other delimiters', (t) => {
  const table = parseCsv('\ufeff"width, cm";"kind"\r\n1.5;"a ""quoted"" name"\r\n2;"two\nlines"\r\n', {
    delimiter: ';',
  });
  t.deepEqual(table.featureNames, ['width, cm']);
  t.deepEqual(table.classNames, ['a "quoted" name', 'two\nlines']);
  t.deepEqual([...table.features], [1.5, 2]);
  t.throws(() => parseCsv('a,b\n1,"open\n'), {
    instanceOf: NasxError,
    message: 'Unterminated quoted field in CSV text starting on line 2',
  });
  // Line numbers stay right after a record that spans lines.
  t.throws(() => parseCsv('a,b\n"1\n",x\n2,y\nz,w\n'), {
    instanceOf: NasxError,
    message: 'Invalid feature value "z" in CSV text at line 5, column 1 ("a"): expected a finite number',
  });
});

test('readCsv reads gzipped files', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'data.csv.gz');
  await writeFile(path, gzipSync('1,2,1\n3,4,0\n'));
  const table = await readCsv(path);
  t.is(table.count, 2);
  t.deepEqual([...table.labels], [1, 0]);
});

test('bad options are TypeErrors or RangeErrors naming the option', (t) => {
  t.throws(() => parseCsv('1,2\n', { task: 'clustering' as never }), {
    instanceOf: RangeError,
    message: 'Expected one of "classification", "regression" for task but received "clustering" of type string',
  });
  t.throws(() => parseCsv('1,2\n', { delimiter: '||' }), {
    instanceOf: RangeError,
    message: 'Expected a single character other than a quote or a newline for delimiter but received "||" of type string',
  });
  t.throws(() => parseCsv('1,2\n', { numClasses: 0 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and 1048576 for numClasses but received 0 of type number',
  });
});

test('integer labels beyond the class limit are refused by row, not allocated', (t) => {
  for (const label of ['4294967295', '2147483648', '1048576']) {
    t.throws(() => parseCsv(`a,b\n1,0\n2,${label}\n`), {
      instanceOf: NasxError,
      message: `Invalid label "${label}" in CSV text at line 3, column 2 ("b"): expected an integer class index between 0 and 1048575 (use task: "regression" for numeric targets)`,
    });
  }
  t.throws(() => parseCsv('a,b\n1,0\n', { numClasses: 2 ** 32 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 1048576 for numClasses but received 4294967296 of type number' });
});
