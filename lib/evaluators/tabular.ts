/**
 * `TabularEvaluator`: answers from a table of results measured in advance (NAS-Bench-201 and the
 * like), so that a search costs a lookup per candidate and search strategies can be compared over
 * many seeds.
 *
 * The protocol of such benchmarks is that a search reads only the validation figures; the test figure
 * of the architecture it ends with is what gets reported. The evaluator enforces it: `evaluate` (what
 * a strategy sees) returns the search metric as `score` plus the columns listed in `metrics`, never a
 * report column; report columns are reachable only through `report(arch)`, `bestPossible()` and
 * `rows()`, which the benchmark harness calls after the search.
 */
import { resolve } from 'node:path';
import { splitCsvRecords, type CsvRecord } from '../data/csv.js';
import { readDataFile } from '../data/file.js';
import { AbortError, NasxError, checkInteger, checkObject, checkOneOf, rangeError, typeError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { EvalMetrics, EvalResult, EvaluateOptions, Evaluator, Fidelity } from './evaluator.js';
import { createNb201Space, fromNb201String, toNb201String, type Nb201Arch } from '../space/nb201-space.js';

// ---------------------------------------------------------------------------------------------------
// Tables

/**
 * A CSV file held as columns of text: a header row names the columns, one row per architecture.
 * Fields may be quoted (RFC 4180); surrounding spaces are ignored; blank lines are skipped.
 */
export class TabularTable {
  /** The file path, or "CSV text". */
  readonly source: string;
  readonly columns: readonly string[];
  /** Number of data rows. */
  readonly size: number;
  private readonly cells: string[][];
  /** 1-based line of each data row, for messages. */
  private readonly lines: number[];
  private readonly numeric = new Map<string, readonly (number | null)[]>();
  private readonly indexes = new Map<string, Map<string, number>>();

  private constructor(source: string, columns: string[], cells: string[][], lines: number[]) {
    this.source = source;
    this.columns = columns;
    this.cells = cells;
    this.lines = lines;
    this.size = lines.length;
  }

  /** Parses CSV text with a header row. */
  static parse(text: string, source = 'CSV text'): TabularTable {
    const records = splitTrimmedRecords(text, source);
    if (records.length < 2) {
      throw new NasxError('ERR_NASX_DATA', `CSV file ${source} needs a header row and at least one data row`);
    }
    const header = records[0]!;
    const columns = header.fields;
    const seen = new Set<string>();
    for (const name of columns) {
      if (name === '') throw new NasxError('ERR_NASX_DATA', `CSV file ${source} has an empty column name on line ${header.line}`);
      if (seen.has(name)) throw new NasxError('ERR_NASX_DATA', `CSV file ${source} has two columns named ${JSON.stringify(name)}`);
      seen.add(name);
    }
    const cells = columns.map(() => new Array<string>(records.length - 1));
    const lines = new Array<number>(records.length - 1);
    for (let r = 1; r < records.length; r++) {
      const { fields, line } = records[r]!;
      if (fields.length !== columns.length) {
        throw new NasxError(
          'ERR_NASX_DATA',
          `Ragged CSV row in ${source} at line ${line}: expected ${columns.length} fields (as in the header) but found ${fields.length}`,
        );
      }
      for (let c = 0; c < fields.length; c++) cells[c]![r - 1] = fields[c]!;
      lines[r - 1] = line;
    }
    return new TabularTable(source, columns, cells, lines);
  }

  /** A column's fields as text. */
  text(column: string): readonly string[] {
    return this.cells[this.columnIndex(column)]!;
  }

  /**
   * A column as numbers: an empty field is `null` (not measured); `nan`, `inf` and `-inf` (any case)
   * are kept as NaN and ±Infinity (measured, and not finite). Any other text is a data error naming
   * the line. Converted once per column.
   */
  numbers(column: string): readonly (number | null)[] {
    let values = this.numeric.get(column);
    if (values) return values;
    const text = this.text(column);
    values = text.map((field, r) => {
      if (field === '') return null;
      const value = NON_FINITE.test(field) ? nonFinite(field) : Number(field);
      if (Number.isNaN(value) && !NON_FINITE.test(field)) {
        throw new NasxError(
          'ERR_NASX_DATA',
          `Invalid value ${JSON.stringify(field)} in ${this.source} at line ${this.lines[r]}, column ${JSON.stringify(column)}: expected a number`,
        );
      }
      return value;
    });
    this.numeric.set(column, values);
    return values;
  }

  /** 1-based line of data row `row` (0-based) in the file. */
  lineOf(row: number): number {
    return this.lines[row]!;
  }

  /**
   * Row by key, for keys built by `keyFor` from the given columns. Built once per set of columns; two
   * rows with the same key are a data error (the table would be ambiguous).
   */
  index(keyColumns: readonly string[]): Map<string, number> {
    const id = JSON.stringify(keyColumns);
    let index = this.indexes.get(id);
    if (index) return index;
    const codecs = keyColumns.map((c) => this.keyCodec(c));
    const texts = keyColumns.map((c) => this.text(c));
    index = new Map();
    for (let r = 0; r < this.size; r++) {
      const key = joinKey(texts.map((t, c) => codecs[c]!(t[r]!)));
      const other = index.get(key);
      if (other !== undefined) {
        throw new NasxError(
          'ERR_NASX_DATA',
          `Duplicate architecture in ${this.source}: lines ${this.lines[other]} and ${this.lines[r]} have the same ${keyColumns.join(', ')}`,
        );
      }
      index.set(key, r);
    }
    this.indexes.set(id, index);
    return index;
  }

  /** Whether every non-empty field of the column is a finite number. */
  isNumeric(column: string): boolean {
    return this.text(column).every((f) => f === '' || (!NON_FINITE.test(f) && !Number.isNaN(Number(f))));
  }

  /**
   * How a key column's values compare: as numbers when the column is numeric (so that 64, "64" and
   * "64.0" are one value), otherwise as text, verbatim.
   */
  keyCodec(column: string): (value: string | number) => string {
    return this.isNumeric(column) ? (v) => (v === '' ? '' : String(Number(v))) : (v) => String(v);
  }

  private columnIndex(column: string): number {
    const i = this.columns.indexOf(column);
    if (i < 0) throw rangeError('column', `one of ${this.columns.map((c) => JSON.stringify(c)).join(', ')}`, column);
    return i;
  }
}

/** Validates nb201 architectures before they are looked up. */
const nb201Space = createNb201Space();

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** The index key of a row from its key columns' canonical values: one value as is, several as JSON. */
const joinKey = (values: readonly string[]) => (values.length === 1 ? values[0]! : JSON.stringify(values));
const splitKey = (key: string, columns: number): string[] => (columns === 1 ? [key] : (JSON.parse(key) as string[]));
const nonFinite = (field: string) => (/nan/i.test(field) ? NaN : field.startsWith('-') ? -Infinity : Infinity);

/** CSV records with surrounding spaces trimmed from every field. */
function splitTrimmedRecords(text: string, source: string): CsvRecord[] {
  return splitCsvRecords(text, ',', source).map((r) => ({ fields: r.fields.map((f) => f.trim()), line: r.line }));
}

const tableCache = new Map<string, Promise<TabularTable>>();

/**
 * Reads a CSV table (gzipped or not), once per file: later calls for the same path share the parsed
 * table (and its indexes and numeric columns).
 */
export function readTabularTable(path: string): Promise<TabularTable> {
  if (typeof path !== 'string' || path === '') throw typeError('path', 'a file path', path);
  const absolute = resolve(path);
  let table = tableCache.get(absolute);
  if (!table) {
    table = readDataFile(absolute, 'CSV file').then(({ bytes }) =>
      TabularTable.parse(new TextDecoder('utf-8').decode(bytes), path),
    );
    tableCache.set(absolute, table);
    // A failed read is not cached, so that fixing the file and retrying works.
    table.catch(() => tableCache.delete(absolute));
  }
  return table;
}

/** Forgets the parsed tables (they are otherwise kept for the life of the process). */
export function clearTabularCache(): void {
  tableCache.clear();
}

// ---------------------------------------------------------------------------------------------------
// The evaluator

/** Result names → column names, e.g. `{ testAccuracy: 'cifar10_test' }`; an array keeps the column names. */
export type MetricColumns = Readonly<Record<string, string>> | readonly string[];

/** A second table joined on the same key (by `keyColumn` or `decisionColumns`), e.g. latencies. */
export interface TabularJoin {
  table: string | TabularTable;
  /** Columns of this table a strategy may see. */
  metrics?: MetricColumns;
  /** Columns of this table for reports only. */
  reportMetrics?: MetricColumns;
}

export interface TabularEvaluatorOptions<A> {
  /** The table: a CSV path (see `TabularEvaluator.load`) or a parsed table. */
  table: string | TabularTable;
  /** Evaluator name (default: the table's source). */
  name?: string;
  /**
   * The column holding each architecture as a string key. Give this or `decisionColumns`.
   * Without `keyOf`, an architecture is its key string.
   */
  keyColumn?: string;
  /** Maps an architecture to its key (with `keyColumn`). A throw makes the candidate `invalid`. */
  keyOf?: (arch: A) => string;
  /** Maps a key back to an architecture, for `rows()` and `bestPossible()` (default: the key itself). */
  archOf?: (key: string) => A;
  /** A column holding each row's architecture as JSON (instead of `archOf`), e.g. `nasx tabulate`'s "arch". */
  archColumn?: string;
  /**
   * The columns that are the architecture's decisions: an architecture is then a record
   * `{ [column]: value }` (other fields are ignored). Values of a numeric column match by number.
   */
  decisionColumns?: readonly string[];
  /** The column a search maximises: it becomes `metrics.score`. */
  searchMetric: string;
  /** Other columns a strategy may see (e.g. `{ valAccuracy: 'val_acc', latencyMs: 'latency' }`). Default none. */
  metrics?: MetricColumns;
  /** Columns for reports only (e.g. `{ testAccuracy: 'test_acc' }`): never in `evaluate`'s results. */
  reportMetrics?: MetricColumns;
  /** Further tables joined on the same key. */
  join?: readonly TabularJoin[];
  /**
   * A learning-curve table (`nasx tabulate` writes one): the search metric after each epoch in columns
   * named by `metric` with `{epoch}` for the epoch (e.g. "val_acc_{epoch}"), and optionally the
   * cumulative training seconds the same way (`seconds`, e.g. "seconds_{epoch}"). Evaluations then
   * obey the fidelity's epochs: the score is the curve at that epoch, a continued candidate (see
   * `EvaluateOptions.resume`) pays only the epochs after its state, and `seconds` is the table's
   * training time for the epochs trained. The epochs run from 1 to the largest present.
   */
  curve?: { metric: string; seconds?: string };
}

/** One row of the table, with everything in it (for oracle figures; not for strategies). */
export interface TabularRow<A> {
  /** 0-based data row in the table. */
  row: number;
  key: string;
  arch: A;
  /** The search metric; null when missing or not finite. */
  score: number | null;
  /** What `evaluate` returns for this row. */
  metrics: EvalMetrics;
  /** The report metrics. */
  report: Record<string, number | null>;
}

interface BoundColumn {
  name: string;
  values: readonly (number | null)[];
  /** Row in the bound table for each row of the main table (-1: missing); undefined for the main table. */
  rowMap?: Int32Array;
}

/**
 * Evaluates architectures by looking them up in a table. The fidelity is ignored: a table holds one
 * measurement per architecture (the NAS-Bench-201 tables: 200 epochs), whatever is asked.
 *
 * @example
 * const evaluator = await TabularEvaluator.load({ table: 'results.csv', decisionColumns: ['depth', 'width'],
 *   searchMetric: 'val_acc', reportMetrics: { testAccuracy: 'test_acc' } });
 */
export class TabularEvaluator<A = unknown> implements Evaluator<A> {
  readonly name: string;
  /** Number of architectures in the table. */
  readonly size: number;
  /** Names of the metrics `evaluate` returns besides `score`. */
  readonly metricNames: readonly string[];
  /** Names of the report metrics. */
  readonly reportNames: readonly string[];
  private readonly table: TabularTable;
  private readonly keyColumns: readonly string[];
  private readonly keyOf: (arch: A) => string;
  /** The architecture of a row (for rows()). */
  private readonly archAt: (row: number) => A;
  private readonly index: Map<string, number>;
  private readonly keyNumeric: readonly boolean[];
  private readonly score: BoundColumn;
  private readonly metricColumns: BoundColumn[];
  private readonly reportColumns: BoundColumn[];
  private allRows: TabularRow<A>[] | undefined;
  /** Learning-curve columns by epoch (index 0: epoch 1), with training seconds when the table has them. */
  private readonly curveColumns: readonly (readonly (number | null)[])[] | undefined;
  private readonly secondsColumns: readonly (readonly (number | null)[])[] | undefined;

  /** Builds an evaluator over parsed tables; `TabularEvaluator.load` also reads CSV paths. */
  constructor(options: TabularEvaluatorOptions<A>) {
    const o = checkObject('options', options) as unknown as TabularEvaluatorOptions<A>;
    if (!(o.table instanceof TabularTable)) {
      throw typeError('options.table', 'a TabularTable (use TabularEvaluator.load for a path)', o.table);
    }
    const table = o.table;
    this.table = table;
    this.size = table.size;
    this.name = o.name === undefined ? table.source : checkString('options.name', o.name);

    const hasKey = o.keyColumn !== undefined;
    const hasDecisions = o.decisionColumns !== undefined;
    if (hasKey === hasDecisions) {
      throw new RangeError(`Expected exactly one of keyColumn and decisionColumns in options but received ${hasKey ? 'both' : 'neither'}`);
    }
    if (hasKey) {
      const keyColumn = checkOneOf('options.keyColumn', o.keyColumn, table.columns);
      if (o.keyOf !== undefined && typeof o.keyOf !== 'function') throw typeError('options.keyOf', 'a function', o.keyOf);
      if (o.archOf !== undefined && typeof o.archOf !== 'function') throw typeError('options.archOf', 'a function', o.archOf);
      this.keyColumns = [keyColumn];
      const userKeyOf = o.keyOf;
      const codec = table.keyCodec(keyColumn);
      this.keyOf = (arch: A) => {
        const key = userKeyOf ? userKeyOf(arch) : arch;
        if (typeof key !== 'string') {
          throw new TypeError(
            userKeyOf
              ? `Expected keyOf to return a string but it returned ${describeArch(key)}`
              : `Expected a string (a value of the ${JSON.stringify(keyColumn)} column) for arch but received ${describeArch(key)}; pass keyOf to map architectures to keys`,
          );
        }
        return codec(key);
      };
      if (o.archColumn !== undefined && o.archOf !== undefined) throw new RangeError('Expected at most one of archOf and archColumn but received both');
      if (o.archColumn !== undefined) {
        const archText = table.text(checkOneOf('options.archColumn', o.archColumn, table.columns));
        this.archAt = (row) => {
          try {
            return JSON.parse(archText[row]!) as A;
          } catch (err) {
            throw new NasxError('ERR_NASX_DATA', `Invalid architecture JSON in ${table.source} at line ${table.lineOf(row)}: ${(err as Error).message}`);
          }
        };
      } else {
        const archOf = o.archOf ?? ((key: string) => key as unknown as A);
        const text = table.text(keyColumn);
        this.archAt = (row) => archOf(text[row]!);
      }
    } else {
      if (o.keyOf !== undefined || o.archOf !== undefined) {
        throw new RangeError('Expected keyOf and archOf only with keyColumn but received them with decisionColumns');
      }
      if (!Array.isArray(o.decisionColumns) || o.decisionColumns.length === 0) {
        throw typeError('options.decisionColumns', 'a non-empty array of column names', o.decisionColumns);
      }
      const columns = o.decisionColumns.map((c, i) => checkOneOf(`options.decisionColumns[${i}]`, c, table.columns));
      if (new Set(columns).size !== columns.length) throw rangeError('options.decisionColumns', 'distinct columns', columns);
      this.keyColumns = columns;
      const codecs = columns.map((c) => table.keyCodec(c));
      this.keyOf = (arch: A) => {
        if (typeof arch !== 'object' || arch === null || Array.isArray(arch)) {
          throw new TypeError(`Expected an object with fields ${columns.join(', ')} for arch but received ${describeArch(arch)}`);
        }
        const record = arch as Record<string, unknown>;
        const values = columns.map((c) => {
          const v = record[c];
          if (typeof v !== 'string' && typeof v !== 'number') {
            throw new TypeError(`Expected a string or a number for arch.${c} but received ${describeArch(v)}`);
          }
          return v;
        });
        return joinKey(values.map((v, i) => codecs[i]!(v)));
      };
      const numeric = columns.map((c) => table.isNumeric(c));
      const texts = columns.map((c) => table.text(c));
      this.archAt = (row) =>
        Object.fromEntries(columns.map((c, i) => [c, numeric[i] && texts[i]![row] !== '' ? Number(texts[i]![row]) : texts[i]![row]])) as A;
    }
    this.index = table.index(this.keyColumns);
    this.keyNumeric = this.keyColumns.map((c) => table.isNumeric(c));

    // Columns, main table first, then joined tables (each joined once, by row).
    const usedNames = new Set(['score']);
    const searchMetric = checkOneOf('options.searchMetric', o.searchMetric, table.columns);
    this.score = { name: 'score', values: table.numbers(searchMetric) };
    /** The columns of each table that the search sees. */
    const visible = new Map<TabularTable, Set<string>>([[table, new Set([searchMetric])]]);
    const metricColumns: BoundColumn[] = [];
    const reportColumns: BoundColumn[] = [];
    const add = (
      source: TabularTable,
      spec: MetricColumns | undefined,
      label: string,
      into: BoundColumn[],
      rowMap: Int32Array | undefined,
      isReport: boolean,
    ) => {
      for (const [name, column] of metricEntries(label, spec)) {
        const checked = checkOneOf(`${label}.${name}`, column, source.columns);
        if (usedNames.has(name)) throw rangeError(label, 'metric names other than "score" and each used once', name);
        usedNames.add(name);
        const seen = visible.get(source) ?? visible.set(source, new Set()).get(source)!;
        if (isReport && seen.has(checked)) {
          // The whole point: a report column must not also be visible to the search.
          throw rangeError(`${label}.${name}`, 'a column the search does not see', checked);
        }
        if (!isReport) seen.add(checked);
        into.push({ name, values: source.numbers(checked), rowMap });
      }
    };
    add(table, o.metrics, 'options.metrics', metricColumns, undefined, false);
    const joins = o.join ?? [];
    if (!Array.isArray(joins)) throw typeError('options.join', 'an array', joins);
    const joined = joins.map((j, i) => {
      const join = checkObject(`options.join[${i}]`, j) as unknown as TabularJoin;
      if (!(join.table instanceof TabularTable)) {
        throw typeError(`options.join[${i}].table`, 'a TabularTable (use TabularEvaluator.load for a path)', join.table);
      }
      for (const c of this.keyColumns) checkOneOf(`options.join[${i}] key column`, c, join.table.columns);
      return { join, rowMap: this.joinRows(join.table) };
    });
    joined.forEach(({ join, rowMap }, i) => add(join.table as TabularTable, join.metrics, `options.join[${i}].metrics`, metricColumns, rowMap, false));
    add(table, o.reportMetrics, 'options.reportMetrics', reportColumns, undefined, true);
    joined.forEach(({ join, rowMap }, i) =>
      add(join.table as TabularTable, join.reportMetrics, `options.join[${i}].reportMetrics`, reportColumns, rowMap, true),
    );
    this.metricColumns = metricColumns;
    this.reportColumns = reportColumns;
    this.metricNames = metricColumns.map((c) => c.name);
    this.reportNames = reportColumns.map((c) => c.name);
    if (o.curve !== undefined) {
      const curve = checkObject('options.curve', o.curve) as { metric: unknown; seconds?: unknown };
      const pattern = (label: string, p: unknown) => {
        if (typeof p !== 'string' || !p.includes('{epoch}')) throw typeError(label, 'a column name pattern containing {epoch}', p);
        const columns: string[] = [];
        for (let e = 1; table.columns.includes(p.replace('{epoch}', String(e))); e++) columns.push(p.replace('{epoch}', String(e)));
        if (columns.length === 0) throw rangeError(label, `a pattern matching columns of ${table.source} from epoch 1`, p);
        for (const c of columns) {
          for (const r of reportColumns) {
            if (r.values === table.numbers(c)) throw rangeError(label, 'columns the reports do not use', p);
          }
        }
        return columns;
      };
      const metric = pattern('options.curve.metric', curve.metric);
      this.curveColumns = metric.map((c) => table.numbers(c));
      if (curve.seconds !== undefined) {
        const seconds = pattern('options.curve.seconds', curve.seconds);
        if (seconds.length < metric.length) throw rangeError('options.curve.seconds', `columns for every epoch of the curve (1 to ${metric.length})`, curve.seconds);
        this.secondsColumns = seconds.map((c) => table.numbers(c));
      }
    }
  }

  /** The largest epoch of a learning-curve table (undefined for a table without `curve`). */
  get curveEpochs(): number | undefined {
    return this.curveColumns?.length;
  }

  /**
   * Like the constructor, but `table` and `join[].table` may be CSV paths (each read and parsed once
   * per process, see `readTabularTable`).
   */
  static async load<A = unknown>(options: TabularEvaluatorOptions<A>): Promise<TabularEvaluator<A>> {
    const o = checkObject('options', options) as unknown as TabularEvaluatorOptions<A>;
    const open = (t: unknown) => (typeof t === 'string' ? readTabularTable(t) : Promise.resolve(t as TabularTable));
    const join = o.join === undefined ? undefined : Array.isArray(o.join) ? await Promise.all(o.join.map(async (j) => ({ ...j, table: await open(j?.table) }))) : o.join;
    return new TabularEvaluator<A>({ ...o, table: await open(o.table), join });
  }

  /**
   * One result per candidate, in order: `score` (the search metric) and the `metrics` columns, never
   * a report column. An architecture not in the table is `invalid`; a missing score `failed`; a
   * score of NaN or ±Infinity `diverged`. The fidelity is ignored.
   */
  async evaluate(candidates: readonly A[], fidelity: Fidelity = {}, options: EvaluateOptions = {}): Promise<EvalResult<A>[]> {
    if (!Array.isArray(candidates)) throw typeError('candidates', 'an array', candidates);
    checkObject('fidelity', fidelity);
    if (options.signal?.aborted) throw new AbortError<EvalResult<A>>('evaluation was aborted before it started', []);
    const start = performance.now();
    const max = this.curveColumns?.length;
    if (max !== undefined && fidelity.epochs !== undefined) checkInteger('fidelity.epochs', fidelity.epochs, 1, max);
    return candidates.map((arch, i) => {
      const result = max === undefined ? this.lookup(arch) : this.lookupCurve(arch, fidelity.epochs ?? max, options.resume?.[i], options.keepState);
      options.onProgress?.({ candidate: i, fraction: 1 });
      return { seconds: (performance.now() - start) / 1000, ...result };
    });
  }

  /** A candidate's result at `epochs` of a curve table, continuing from `resume` (`{ epochs }`). */
  private lookupCurve(arch: A, epochs: number, resume: unknown, keepState: boolean | undefined): Omit<EvalResult<A>, 'seconds'> & { seconds?: number } {
    const base = this.lookup(arch);
    if (base.status === 'invalid') return base;
    const row = this.rowOf(arch) as number;
    const from = Math.min(epochs - 1, Math.max(0, (resume as { epochs?: number } | undefined)?.epochs ?? 0));
    const value = (e: number) => finiteOrNull(this.curveColumns![e - 1]![row]!);
    const raw = this.curveColumns![epochs - 1]![row]!;
    const out: Omit<EvalResult<A>, 'seconds'> & { seconds?: number } = {
      ...base,
      metrics: { ...base.metrics, score: finiteOrNull(raw) },
      curve: Array.from({ length: epochs - from }, (_, k) => value(from + k + 1)),
      resumedFrom: from,
      epochsTrained: epochs - from,
    };
    if (raw === null) Object.assign(out, { status: 'failed', error: `${this.name} has no value at epoch ${epochs} for this architecture (line ${this.table.lineOf(row)})` });
    else if (!Number.isFinite(raw)) Object.assign(out, { status: 'diverged', error: `the search metric at epoch ${epochs} is ${raw}` });
    else Object.assign(out, { status: 'ok', error: undefined });
    if (out.error === undefined) delete out.error;
    if (this.secondsColumns) {
      const secs = (e: number) => (e === 0 ? 0 : (this.secondsColumns![e - 1]![row] ?? 0));
      out.seconds = Math.max(0, secs(epochs) - secs(from));
    }
    if (keepState && out.status === 'ok') out.state = { epochs };
    return out;
  }

  /**
   * The report metrics of an architecture (e.g. `{ testAccuracy: 94.3 }`), for the harness after a
   * search. Throws NasxError('ERR_NASX_INVALID_ARCH') when the architecture is not in the table.
   */
  report(arch: A): Record<string, number | null> {
    const row = this.rowOf(arch);
    if (typeof row === 'string') throw new NasxError('ERR_NASX_INVALID_ARCH', row);
    return this.reportOf(row);
  }

  /**
   * The row with the highest search metric (the first such row on ties): the best a search can find,
   * and the test figure it would then report.
   */
  bestPossible(): TabularRow<A> {
    const scores = this.score.values;
    let best = -1;
    for (let r = 0; r < scores.length; r++) {
      const s = scores[r];
      if (s !== null && Number.isFinite(s) && (best < 0 || s > scores[best]!)) best = r;
    }
    if (best < 0) throw new NasxError('ERR_NASX_DATA', `${this.name} has no finite value of its search metric`);
    return this.allRows?.[best] ?? this.rowAt(best, this.keyAt(best));
  }

  /** Every row, in table order (built once). For oracle figures: these include the report metrics. */
  rows(): readonly TabularRow<A>[] {
    if (this.allRows) return this.allRows;
    const keys = new Array<string>(this.size);
    for (const [key, row] of this.index) keys[row] = key;
    this.allRows = keys.map((key, row) => this.rowAt(row, key));
    return this.allRows;
  }

  private rowAt(row: number, key: string): TabularRow<A> {
    return {
      row,
      key,
      arch: this.archAt(row),
      score: finiteOrNull(this.score.values[row]!),
      metrics: this.metricsOf(row),
      report: this.reportOf(row),
    };
  }

  /** The index key of one row (rebuilt from its fields, as the index did). */
  private keyAt(row: number): string {
    return joinKey(this.keyColumns.map((c) => this.table.keyCodec(c)(this.table.text(c)[row]!)));
  }

  /** A candidate's result without timing, or the reason it has none. */
  private lookup(arch: A): Omit<EvalResult<A>, 'seconds'> {
    const row = this.rowOf(arch);
    if (typeof row === 'string') return { arch, status: 'invalid', error: row, metrics: { score: null } };
    const metrics = this.metricsOf(row);
    const raw = this.score.values[row];
    if (raw === null) {
      return { arch, status: 'failed', error: `${this.name} has no search metric for this architecture (line ${this.table.lineOf(row)})`, metrics };
    }
    if (!Number.isFinite(raw)) return { arch, status: 'diverged', error: `the search metric is ${raw}`, metrics };
    return { arch, status: 'ok', metrics };
  }

  /** The table row of an architecture, or the message saying why there is none. */
  private rowOf(arch: A): number | string {
    let key: string;
    try {
      key = this.keyOf(arch);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    const row = this.index.get(key);
    if (row !== undefined) return row;
    const values = splitKey(key, this.keyColumns.length);
    const shown = this.keyColumns.map((c, i) => `${c} ${this.keyNumeric[i] ? values[i] : JSON.stringify(values[i])}`).join(', ');
    return `Unknown architecture for ${this.name}: no row has ${shown}`;
  }

  private metricsOf(row: number): EvalMetrics {
    const metrics: EvalMetrics = { score: finiteOrNull(this.score.values[row]!) };
    for (const c of this.metricColumns) metrics[c.name] = valueAt(c, row);
    return metrics;
  }

  private reportOf(row: number): Record<string, number | null> {
    const report: Record<string, number | null> = {};
    for (const c of this.reportColumns) report[c.name] = valueAt(c, row);
    return report;
  }

  /** For each main-table row, its row in `other` (matched on the key columns), or -1. */
  private joinRows(other: TabularTable): Int32Array {
    const otherIndex = other.index(this.keyColumns);
    const map = new Int32Array(this.size).fill(-1);
    for (const [key, row] of this.index) map[row] = otherIndex.get(key) ?? -1;
    return map;
  }
}

function valueAt(column: BoundColumn, row: number): number | null {
  const r = column.rowMap ? column.rowMap[row]! : row;
  return r < 0 ? null : finiteOrNull(column.values[r]!);
}

const finiteOrNull = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);

function metricEntries(label: string, spec: MetricColumns | undefined): [string, unknown][] {
  if (spec === undefined) return [];
  if (Array.isArray(spec)) {
    return spec.map((c, i) => {
      if (typeof c !== 'string') throw typeError(`${label}[${i}]`, 'a column name', c);
      return [c, c];
    });
  }
  return Object.entries(checkObject(label, spec));
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw typeError(name, 'a non-empty string', value);
  return value;
}

/** Like describeValue, but never cuts a string (architecture keys are long and differ at the end). */
function describeArch(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} of type string`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value === 'object' ? 'an object' : `${String(value)} of type ${typeof value}`;
}


/**
 * A learning-curve table written by `nasx tabulate` as a benchmark over `space`: architectures are
 * found by canonical hash, the search metric is the validation accuracy after the last epoch (and
 * after any epoch a scheduler asks for), the cost is the table's training seconds, and the report
 * metric is the test accuracy after the last epoch.
 *
 * @example const bench = await loadCurveTable('data/fashion-mnist-mlp/curves.csv', getSpace('mlp'));
 */
export async function loadCurveTable<A>(file: string, space: { hash(arch: A): string; validate(arch: A): void }): Promise<TabularEvaluator<A>> {
  const table = await readTabularTable(file);
  for (const c of ['hash', 'arch', 'val_acc_1', 'test_acc']) {
    if (!table.columns.includes(c)) {
      throw new NasxError('ERR_NASX_DATA', `${file} is not a learning-curve table of nasx tabulate: it has no ${JSON.stringify(c)} column`);
    }
  }
  let last = 1;
  while (table.columns.includes(`val_acc_${last + 1}`)) last++;
  return new TabularEvaluator<A>({
    name: file,
    table,
    keyColumn: 'hash',
    keyOf: (arch: A) => {
      space.validate(arch);
      return space.hash(arch);
    },
    archColumn: 'arch',
    searchMetric: `val_acc_${last}`,
    reportMetrics: { testAccuracy: 'test_acc' },
    curve: { metric: 'val_acc_{epoch}', ...(table.columns.includes('seconds_1') ? { seconds: 'seconds_{epoch}' } : {}) },
  });
}

// ---------------------------------------------------------------------------------------------------
// Built-in benchmarks

/** Devices with a latency column in data/nb201/nb201_latency.csv (HELP's names: device_batchsize). */
export const NB201_LATENCY_DEVICES = [
  '1080ti_1',
  '1080ti_32',
  '1080ti_256',
  'titan_rtx_1',
  'titan_rtx_256',
  'gold_6226',
  'silver_4114',
  'raspi4',
  'pixel3',
  'fpga',
  'eyeriss',
] as const;

export type Nb201LatencyDevice = (typeof NB201_LATENCY_DEVICES)[number];

const NB201_DATASETS = {
  'nb201/cifar10': 'cifar10',
  'nb201/cifar100': 'cifar100',
  'nb201/imagenet16': 'imagenet16',
} as const;

export type TabularBenchmarkName = keyof typeof NB201_DATASETS;

/** The names `getTabularBenchmark` accepts. */
export const TABULAR_BENCHMARKS = Object.keys(NB201_DATASETS) as TabularBenchmarkName[];

export interface TabularBenchmarkOptions {
  /** The device whose latency is `metrics.latencyMs`. Default "1080ti_1" (GTX 1080 Ti, batch 1). */
  latencyDevice?: Nb201LatencyDevice;
}

/**
 * A built-in tabular benchmark: NAS-Bench-201 on CIFAR-10, CIFAR-100 or ImageNet16-120, over
 * `{ type: 'nb201', edges }` cells. Its search signal is NASLib's: one seed's final accuracy on the
 * **test** split (data/nb201/README.md), so figures from it are optimistic — a search reads the test
 * set through it; the honest benchmark is a learning-curve table with held-out validation
 * (`loadCurveTable`). Accuracies are in percent, as in the literature (94.37, not
 * 0.9437). A strategy sees `score` = `searchAccuracy` (the `<dataset>_search` column) and `latencyMs`;
 * `report(arch)` gives `testAccuracy` (`<dataset>_test`). The tables are read once per process.
 *
 * @example const bench = await getTabularBenchmark('nb201/cifar10'); bench.bestPossible().report.testAccuracy // 94.3
 */
export async function getTabularBenchmark(
  name: string,
  options: TabularBenchmarkOptions = {},
): Promise<TabularEvaluator<Nb201Arch>> {
  const benchmark = checkOneOf('benchmark', name, TABULAR_BENCHMARKS);
  checkObject('options', options);
  const device = options.latencyDevice === undefined ? '1080ti_1' : checkOneOf('latencyDevice', options.latencyDevice, NB201_LATENCY_DEVICES);
  const dataset = NB201_DATASETS[benchmark];
  const dir = resolve(packageRoot(), 'data', 'nb201');
  return TabularEvaluator.load<Nb201Arch>({
    name: benchmark,
    table: resolve(dir, 'nb201.csv'),
    keyColumn: 'arch',
    keyOf: (arch: Nb201Arch) => {
      nb201Space.validate(arch);
      return toNb201String(arch);
    },
    archOf: fromNb201String,
    searchMetric: `${dataset}_search`,
    metrics: { searchAccuracy: `${dataset}_search` },
    reportMetrics: { testAccuracy: `${dataset}_test` },
    join: [{ table: resolve(dir, 'nb201_latency.csv'), metrics: { latencyMs: device } }],
  });
}
