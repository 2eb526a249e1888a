/**
 * Canonical JSON and the short digest of it that search spaces use as an architecture's hash. Object
 * keys are sorted, so two configs that differ only in key order hash alike.
 */
import { createHash } from 'node:crypto';
import { typeError } from '../errors.js';

/**
 * JSON text with object keys sorted at every level and no whitespace. Properties whose value is
 * `undefined` are left out (as `JSON.stringify` does); non-finite numbers and non-JSON values throw.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return write(value, 'value');
}

function write(value: unknown, path: string): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw typeError(path, 'a finite number', value);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(o).sort()) {
      if (o[key] === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(o[key], `${path}.${key}`)}`);
    }
    return `{${parts.join(',')}}`;
  }
  throw typeError(path, 'a JSON value (null, boolean, number, string, array or plain object)', value);
}

/**
 * A 16-hex-digit (64-bit) SHA-1 digest of `canonicalJson(value)`: short enough to read and log,
 * long enough that two different architectures in one study do not collide in practice.
 *
 * @example canonicalHash('abc') // 'b87f4bf9b7b07f59' (SHA-1 of the JSON text "abc")
 */
export function canonicalHash(value: unknown): string {
  return createHash('sha1').update(canonicalJson(value)).digest('hex').slice(0, 16);
}
