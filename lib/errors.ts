/**
 * Errors raised by nasx. Wrong types are `TypeError`s, out-of-range values `RangeError`s (both built by
 * the helpers below so every message has the same shape), and failures of the engine, the data or the
 * file system are `NasxError`s with a stable `code`.
 */

export type NasxErrorCode =
  | 'ERR_NASX_NATIVE_LOAD'
  | 'ERR_NASX_INVALID_ARCH'
  | 'ERR_NASX_DATA'
  | 'ERR_NASX_DATA_NOT_FOUND'
  | 'ERR_NASX_ABORTED'
  | 'ERR_NASX_ENGINE'
  | 'ERR_NASX_OUT_OF_MEMORY'
  | 'ERR_NASX_IO'
  | 'ERR_NASX_INVALID_ARGUMENT'
  | 'ERR_NASX_MODEL_FILE'
  | 'ERR_NASX_ONNX'
  | 'ERR_NASX_STORAGE';

export class NasxError extends Error {
  readonly code: NasxErrorCode;
  constructor(code: NasxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NasxError';
    this.code = code;
  }
}

/**
 * Rejection of cancelled work (an aborted AbortSignal, Ctrl-C). `results` holds what had finished,
 * so nothing completed is lost.
 */
export class AbortError<R = unknown> extends NasxError {
  readonly results: R[];
  constructor(message: string, results: R[] = []) {
    super('ERR_NASX_ABORTED', message);
    this.name = 'AbortError';
    this.results = results;
  }
}

/** Short, readable rendering of a received value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const s = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(s)} of type string`;
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  }
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
  }
  if (typeof value === 'function') return 'a function';
  return `${String(value)} of type ${typeof value}`;
}

/** `Expected <expected> for <name> but received <value>` as a TypeError (wrong type). */
export function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describeValue(value)}`);
}

/** `Expected <expected> for <name> but received <value>` as a RangeError (right type, bad value). */
export function rangeError(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`Expected ${expected} for ${name} but received ${describeValue(value)}`);
}

/** Validates an integer in [min, max]; returns it. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  if (typeof value !== 'number') throw typeError(name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(name, expected, value);
  return value;
}

/** Validates a finite number in [min, max] (or (min, max] when `exclusiveMin`); returns it. */
export function checkNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  options: { exclusiveMin?: boolean } = {},
): number {
  const unbounded = max === Infinity;
  const expected = options.exclusiveMin
    ? `a number greater than ${min}${unbounded ? '' : ` and at most ${max}`}`
    : unbounded
      ? `a number >= ${min}`
      : `a number between ${min} and ${max}`;
  if (typeof value !== 'number') throw typeError(name, expected, value);
  const tooLow = options.exclusiveMin ? value <= min : value < min;
  if (!Number.isFinite(value) || tooLow || value > max) throw rangeError(name, expected, value);
  return value;
}

/** Validates one of a fixed set of strings; the message lists them. */
export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  const expected = `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  if (typeof value !== 'string') throw typeError(name, expected, value);
  if (!(allowed as readonly string[]).includes(value)) throw rangeError(name, expected, value);
  return value as T;
}

/** Validates a file path: a non-empty string without NUL bytes (which no file system allows). */
export function checkFilePath(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(name, 'a file path (a string)', value);
  if (value === '' || value.includes('\0')) throw rangeError(name, 'a file path (a non-empty string without NUL bytes)', value);
  return value;
}

/** A plain object: not null, not an array. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a plain object (not null, not an array). */
export function checkObject(name: string, value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw typeError(name, 'an object', value);
  return value;
}
