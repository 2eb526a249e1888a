/**
 * What counts as a correct refusal of bad input, shared by the coverage-guided fuzzer and the fuzz
 * tests: a NasxError (or an Error carrying an ERR_NASX_* code, as the addon throws), or a
 * TypeError/RangeError in the project's wording ("Expected … for … but received …", "Unknown field …",
 * …), each with a message that is not one of V8's own (which would mean the library tripped over the
 * input instead of checking it). Anything else is a finding.
 */

/** Messages V8 produces when code trips over a value it did not check; never a clear refusal. */
const ENGINE_MESSAGES = [
  /Cannot read propert(y|ies) of (undefined|null)/,
  /Cannot set propert(y|ies) of (undefined|null)/,
  /Cannot convert (undefined|null|a Symbol value|a BigInt value|object) to/,
  /Cannot create property/,
  /Cannot use 'in' operator/,
  /is not a function/,
  /is not iterable/,
  /is not a constructor/,
  /Maximum call stack size exceeded/,
  /Invalid array length/,
  /Invalid typed array length/,
  /Invalid string length/,
  /Array buffer allocation failed/,
  /Reduce of empty array with no initial value/,
  /Do not know how to serialize a BigInt/,
  /Converting circular structure to JSON/,
  /Offset is outside the bounds of the DataView/,
  /out of range\. It must be/, // Node's ERR_OUT_OF_RANGE from Buffer reads
  /Invalid time value/,
  /toFixed\(\) digits argument/,
  /precision .* out of range/i,
  /Invalid count value/,
  /The value of ".*" is out of range/,
  /^undefined$/,
];

/**
 * The project's wording of argument errors (lib/errors.ts, native/binding/convert.cc): "Expected … for
 * … but received …", "Unknown field/option …", and the rule-and-values form of CONVENTIONS.md
 * ("`low <= high` must hold …, but got (low=3, high=1)").
 */
const PROJECT_WORDING = /^(Expected |Unknown (field|option|layer|flag|command|strategy|space|benchmark|metric|column) |Unexpected )|must hold.*but got/;

export interface VerdictOptions {
  /** A SyntaxError is a correct refusal (the input is JSON text and JSON.parse is the documented first step). */
  allowSyntaxError?: boolean;
  /** A plain Error with a string `code` (the native addon's engine errors) is a correct refusal. */
  allowCodedError?: boolean;
}

export interface Verdict {
  ok: boolean;
  /** Why it is a finding (when not ok). */
  reason?: string;
}

/** Name, message and (when present) code of a thrown value, for reports. */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}`;
  }
  try {
    return `a thrown ${typeof err}: ${String(err)}`;
  } catch {
    return `a thrown ${typeof err}`;
  }
}

function engineMessage(message: string): RegExp | undefined {
  return ENGINE_MESSAGES.find((re) => re.test(message));
}

/** Whether `err` is a correct refusal of bad input. */
export function judgeThrown(err: unknown, options: VerdictOptions = {}): Verdict {
  if (!(err instanceof Error)) return { ok: false, reason: `threw a non-Error value (${describeThrown(err)})` };
  const message = err.message;
  if (typeof message !== 'string' || message.trim() === '') return { ok: false, reason: `threw ${err.name} with an empty message` };
  const tripped = engineMessage(message);
  const code = (err as { code?: unknown }).code;
  if (err.name === 'NasxError' || err.name === 'AbortError') {
    if (typeof code !== 'string' || !code.startsWith('ERR_NASX_')) return { ok: false, reason: `${err.name} without an ERR_NASX_ code` };
    if (tripped) return { ok: false, reason: `${err.name} wraps a JavaScript engine error (${describeThrown(err)})` };
    return { ok: true };
  }
  if (err.constructor === TypeError || err.constructor === RangeError || err.name === 'TypeError' || err.name === 'RangeError') {
    if (tripped) return { ok: false, reason: `the library tripped over the input: ${describeThrown(err)}` };
    if (!PROJECT_WORDING.test(message)) return { ok: false, reason: `${err.name} not in the project's wording: ${JSON.stringify(message.slice(0, 200))}` };
    return { ok: true };
  }
  if (err.name === 'SyntaxError' && options.allowSyntaxError) return { ok: true };
  if (options.allowCodedError && err.name === 'Error' && typeof code === 'string' && code.startsWith('ERR_NASX_')) {
    if (tripped) return { ok: false, reason: `engine error wraps a JavaScript engine error (${describeThrown(err)})` };
    return { ok: true };
  }
  return { ok: false, reason: `threw ${describeThrown(err)}` };
}
