/**
 * Numeric CSV tables: every column is a feature except the label column(s). Quoted fields (RFC 4180)
 * are understood; blank lines are skipped; files may be gzipped.
 */

import { NasxError, checkInteger, checkOneOf, rangeError, typeError } from '../errors.js';
import type { Task } from './dataset.js';
import { readDataFile } from './file.js';

/** A column by header name, or by 0-based index (negative counts from the end: -1 is the last). */
export type ColumnRef = string | number;

export interface CsvOptions {
  /**
   * The label column (classification) or target column(s) (regression): a name (needs a header) or
   * an index. Default: the last column.
   */
  labelColumn?: ColumnRef | readonly ColumnRef[];
  /** Default 'classification'. */
  task?: Task;
  /** Whether the first row is a header; 'auto' (default) detects it. */
  header?: boolean | 'auto';
  /** Field separator, one character (default ','). */
  delimiter?: string;
  /** Classification: the class names, in class-index order; labels may be names or indices. */
  classNames?: readonly string[];
  /** Classification with integer labels: the number of classes (labels must be below it). */
  numClasses?: number;
}

export interface ParseCsvOptions extends CsvOptions {
  /** Names the text in error messages (readCsv passes the file path). */
  source?: string;
}

/** A parsed table: features row-major, labels as class indices or targets. */
export interface CsvTable {
  readonly task: Task;
  readonly count: number;
  /** Header names, or `column <n>` (1-based) without a header. */
  readonly featureNames: readonly string[];
  /** count × featureNames.length values. */
  readonly features: Float32Array;
  readonly labelNames: readonly string[];
  /** Class indices (classification) or count × targets (regression). */
  readonly labels: Int32Array | Float32Array;
  /** Number of classes or of regression targets. */
  readonly outputSize: number;
  /** Classification: the name of each class index. */
  readonly classNames?: readonly string[];
}

/**
 * Reads a CSV file (gzipped or not).
 *
 * @example const table = await readCsv('iris.csv', { labelColumn: 'species' });
 */
export async function readCsv(path: string, options: CsvOptions = {}): Promise<CsvTable> {
  const { bytes } = await readDataFile(path, 'CSV file');
  const text = new TextDecoder('utf-8').decode(bytes);
  return parseCsv(text, { ...options, source: path });
}

export interface CsvRecord {
  readonly fields: string[];
  /** 1-based line on which the record starts. */
  readonly line: number;
}

/** Parses CSV text. See `CsvOptions`; errors name `options.source`, the line and the column. */
export function parseCsv(text: string, options: ParseCsvOptions = {}): CsvTable {
  const source = options.source ?? 'CSV text';
  const task = options.task === undefined ? 'classification' : checkOneOf('task', options.task, ['classification', 'regression'] as const);
  const delimiter = options.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n') {
    throw rangeError('delimiter', 'a single character other than a quote or a newline', delimiter);
  }
  const header = options.header ?? 'auto';
  if (header !== true && header !== false && header !== 'auto') {
    throw typeError('header', 'true, false or "auto"', header);
  }

  const records = splitCsvRecords(text, delimiter, source);
  if (records.length === 0) {
    throw new NasxError('ERR_NASX_DATA', `Empty CSV file ${source}: no rows`);
  }
  const width = records[0].fields.length;
  for (const record of records) {
    if (record.fields.length !== width) {
      throw new NasxError(
        'ERR_NASX_DATA',
        `Ragged CSV row in ${source} at line ${record.line}: expected ${width} fields (as on line ` +
          `${records[0].line}) but found ${record.fields.length}`,
      );
    }
  }
  const hasHeader = header === 'auto' ? looksLikeHeader(records) : header;
  const names = hasHeader
    ? records[0].fields.map((f) => f.trim())
    : Array.from({ length: width }, (_, i) => `column ${i + 1}`);
  const rows = hasHeader ? records.slice(1) : records;
  if (rows.length === 0) {
    throw new NasxError('ERR_NASX_DATA', `CSV file ${source} has a header but no data rows`);
  }

  const labelColumns = resolveLabelColumns(options.labelColumn, task, hasHeader ? names : undefined, width);
  if (labelColumns.length === width) {
    throw new NasxError('ERR_NASX_DATA', `CSV file ${source} has no feature columns: every column is a label`);
  }
  const featureColumns = names.map((_, i) => i).filter((i) => !labelColumns.includes(i));
  const where = (record: CsvRecord, column: number) =>
    `in ${source} at line ${record.line}, column ${column + 1}${hasHeader ? ` (${JSON.stringify(names[column])})` : ''}`;

  const features = new Float32Array(rows.length * featureColumns.length);
  let o = 0;
  for (const row of rows) {
    for (const column of featureColumns) {
      const value = parseNumber(row.fields[column]);
      if (value === undefined) {
        throw new NasxError(
          'ERR_NASX_DATA',
          `Invalid feature value ${JSON.stringify(row.fields[column])} ${where(row, column)}: expected a finite number`,
        );
      }
      features[o++] = value;
    }
  }

  const common = {
    task,
    count: rows.length,
    featureNames: featureColumns.map((i) => names[i]),
    features,
    labelNames: labelColumns.map((i) => names[i]),
  };
  if (task === 'regression') {
    const labels = new Float32Array(rows.length * labelColumns.length);
    let t = 0;
    for (const row of rows) {
      for (const column of labelColumns) {
        const value = parseNumber(row.fields[column]);
        if (value === undefined) {
          throw new NasxError(
            'ERR_NASX_DATA',
            `Invalid target value ${JSON.stringify(row.fields[column])} ${where(row, column)}: expected a finite number`,
          );
        }
        labels[t++] = value;
      }
    }
    return { ...common, labels, outputSize: labelColumns.length };
  }
  const classes = classIndices(rows, labelColumns[0], options, (row) => where(row, labelColumns[0]));
  return { ...common, labels: classes.labels, outputSize: classes.classNames.length, classNames: classes.classNames };
}

/** Splits text into records, honouring quotes (which may span lines); skips blank lines. */
export function splitCsvRecords(text: string, delimiter: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte-order mark
  let line = 1;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const raw = text.slice(pos, end > pos && text[end - 1] === '\r' ? end - 1 : end);
    if (!raw.includes('"')) {
      // The common case: a plain line.
      if (raw.trim() !== '') records.push({ fields: raw.split(delimiter), line });
      pos = end + 1;
      line++;
      continue;
    }
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let i = pos;
    for (;;) {
      if (i >= text.length) {
        if (quoted) {
          throw new NasxError(
            'ERR_NASX_DATA',
            `Unterminated quoted field in ${source} starting on line ${startLine}`,
          );
        }
        break;
      }
      const ch = text[i];
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
      } else if (ch === '"' && field.trim() === '') {
        quoted = true;
        field = '';
        i++;
      } else if (ch === delimiter) {
        fields.push(field);
        field = '';
        i++;
      } else if (ch === '\n') {
        i++;
        break;
      } else if (ch === '\r' && text[i + 1] === '\n') {
        i++;
      } else {
        field += ch;
        i++;
      }
    }
    fields.push(field);
    records.push({ fields, line: startLine });
    pos = i;
    line++;
  }
  return records;
}

/** A finite number, or undefined for anything else (empty, NaN, Infinity, words). */
function parseNumber(field: string): number | undefined {
  const trimmed = field.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The first row is a header when, in every column that is numeric on the second row, it is not
 * numeric. (A data row with one bad value is therefore not mistaken for a header.) With one row, it
 * is a header when none of its fields is numeric.
 */
function looksLikeHeader(records: CsvRecord[]): boolean {
  const first = records[0].fields;
  if (records.length === 1) return first.every((f) => parseNumber(f) === undefined);
  const second = records[1].fields;
  const numericColumns = second.map((_, i) => i).filter((i) => parseNumber(second[i]) !== undefined);
  if (numericColumns.length === 0) return first.every((f) => parseNumber(f) === undefined);
  return numericColumns.every((i) => parseNumber(first[i]) === undefined);
}

function resolveLabelColumns(
  labelColumn: CsvOptions['labelColumn'],
  task: Task,
  header: readonly string[] | undefined,
  width: number,
): number[] {
  const refs: readonly ColumnRef[] =
    labelColumn === undefined ? [-1] : Array.isArray(labelColumn) ? labelColumn : [labelColumn as ColumnRef];
  if (refs.length === 0) throw rangeError('labelColumn', 'at least one column', labelColumn);
  if (task === 'classification' && refs.length > 1) {
    throw rangeError('labelColumn', 'a single column (task "classification")', labelColumn);
  }
  const columns = refs.map((ref) => {
    if (typeof ref === 'number') {
      const index = checkInteger('labelColumn', ref, -width, width - 1);
      return index < 0 ? width + index : index;
    }
    if (typeof ref !== 'string') throw typeError('labelColumn', 'a column name or index', ref);
    if (header === undefined) {
      throw rangeError('labelColumn', 'a column index (the CSV file has no header row)', ref);
    }
    return header.indexOf(checkOneOf('labelColumn', ref, header));
  });
  if (new Set(columns).size !== columns.length) {
    throw rangeError('labelColumn', 'distinct columns', labelColumn);
  }
  return columns;
}

/**
 * Class indices for a classification label column. With `classNames`, a label is a class name or an
 * index below their number. Otherwise integer labels are used as indices (classes = largest + 1, or
 * `numClasses`), and any other labels are names, sorted to give the class order.
 */
function classIndices(
  rows: CsvRecord[],
  column: number,
  options: CsvOptions,
  where: (row: CsvRecord) => string,
): { labels: Int32Array; classNames: string[] } {
  const values = rows.map((row) => row.fields[column].trim());
  const labels = new Int32Array(rows.length);
  const invalid = (i: number, expected: string) =>
    new NasxError(
      'ERR_NASX_DATA',
      `Invalid label ${JSON.stringify(values[i])} ${where(rows[i])}: expected ${expected}`,
    );

  if (options.classNames !== undefined) {
    const classNames = options.classNames.map(String);
    if (classNames.length === 0 || classNames.length > MAX_CLASSES) {
      throw rangeError('classNames', `between 1 and ${MAX_CLASSES} class names`, options.classNames);
    }
    const byName = new Map(classNames.map((name, i) => [name, i]));
    values.forEach((value, i) => {
      const index = byName.get(value) ?? integerLabel(value);
      if (index === undefined || index < 0 || index >= classNames.length) {
        throw invalid(
          i,
          `one of the ${classNames.length} class names or an integer between 0 and ${classNames.length - 1}`,
        );
      }
      labels[i] = index;
    });
    return { labels, classNames };
  }

  const numClasses =
    options.numClasses === undefined ? undefined : checkInteger('numClasses', options.numClasses, 1, MAX_CLASSES);
  const allNumeric = values.every((value) => parseNumber(value) !== undefined);
  if (allNumeric || numClasses !== undefined) {
    let max = 0;
    values.forEach((value, i) => {
      const index = integerLabel(value);
      if (index === undefined) {
        throw invalid(
          i,
          parseNumber(value) === undefined
            ? `an integer between 0 and ${numClasses! - 1}`
            : 'an integer class index (use task: "regression" for numeric targets)',
        );
      }
      if (index < 0 || (numClasses !== undefined && index >= numClasses)) {
        throw invalid(
          i,
          numClasses === undefined ? 'an integer >= 0' : `an integer between 0 and ${numClasses - 1}`,
        );
      }
      if (index >= MAX_CLASSES) {
        throw invalid(i, `an integer class index between 0 and ${MAX_CLASSES - 1} (use task: "regression" for numeric targets)`);
      }
      labels[i] = index;
      max = Math.max(max, index);
    });
    const count = numClasses ?? max + 1;
    return { labels, classNames: Array.from({ length: count }, (_, i) => String(i)) };
  }

  const classNames = [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classNames.length > MAX_CLASSES) {
    throw new NasxError('ERR_NASX_DATA', `the label column has ${classNames.length} distinct values; at most ${MAX_CLASSES} classes are supported (use task: "regression" for numeric targets)`);
  }
  const byName = new Map(classNames.map((name, i) => [name, i]));
  values.forEach((value, i) => (labels[i] = byName.get(value)!));
  return { labels, classNames };
}

/** The most classes a data set may have (the engine's output-size limit). */
export const MAX_CLASSES = 1 << 20;

function integerLabel(value: string): number | undefined {
  const n = parseNumber(value);
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}
