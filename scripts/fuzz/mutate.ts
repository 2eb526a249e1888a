/**
 * Byte-level mutations for the fuzzer (AFL-style "havoc": a stack of 1–8 random edits), with
 * dictionary tokens and splicing of two corpus entries. The generator is the fuzzer's own (not the
 * library's), so that the library's coverage is the targets' alone.
 */

/** xorshift128+ seeded by splitmix64-like mixing of a 32-bit seed; good enough for mutation choices. */
export class FuzzRng {
  private s0: number;
  private s1: number;
  constructor(seed: number) {
    let x = (seed >>> 0) ^ 0x9e3779b9;
    const mix = () => {
      x = (x + 0x6d2b79f5) >>> 0;
      let t = Math.imul(x ^ (x >>> 15), x | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    };
    this.s0 = mix() | 1;
    this.s1 = mix();
  }
  /** A uint32. */
  u32(): number {
    let a = this.s0;
    const b = this.s1;
    this.s0 = b;
    a ^= a << 23;
    a ^= a >>> 17;
    a ^= b ^ (b >>> 26);
    this.s1 = a;
    return (this.s0 + this.s1) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

const enc = new TextEncoder();

/** Tokens useful to every target. */
export const COMMON_TOKENS: readonly string[] = [
  '0', '-0', '1', '-1', '2', '3', '7', '8', '16', '255', '256', '65535', '65536', '1048576', '1048577',
  '2147483647', '2147483648', '-2147483648', '4294967295', '4294967296', '9007199254740991', '9007199254740993',
  '1e308', '-1e308', '1e309', '5e-324', '1e-7', '0.5', '0.9999', '1.5', 'NaN', 'Infinity', '-Infinity', '1e3', '0x10',
  '""', '"', "'", ',', ';', '\t', '\n', '\r\n', ' ', '\u0000', '\ufeff', '\u00e9', '\ud83d\ude00',
  '{', '}', '[', ']', ':', 'null', 'true', 'false', '{}', '[]', '[[[[[[[[', ']]]]]]]]', '__proto__', 'constructor',
];

/** Binary values written as little- and big-endian 32-bit integers by the mutator. */
const INTERESTING_32 = [0, 1, 2, 3, 4, 8, 16, 127, 128, 255, 256, 1024, 4096, 65535, 65536, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1_000_000, 4_000_000_000];
const INTERESTING_8 = [0, 1, 2, 3, 4, 7, 8, 9, 0x0b, 0x0c, 0x0d, 0x0e, 0x10, 0x20, 0x22, 0x2c, 0x30, 0x39, 0x7b, 0x7d, 0x7f, 0x80, 0xfe, 0xff];

export interface MutatorOptions {
  maxLength: number;
  /** Extra tokens for this target (magic bytes, keywords). */
  tokens: readonly (string | Uint8Array)[];
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export class Mutator {
  private readonly tokens: Uint8Array[];
  private readonly maxLength: number;
  constructor(
    private readonly rng: FuzzRng,
    options: MutatorOptions,
  ) {
    this.maxLength = options.maxLength;
    this.tokens = [...COMMON_TOKENS, ...options.tokens].map((t) => (typeof t === 'string' ? enc.encode(t) : t));
  }

  /** A mutated copy of `input`; `other` (another corpus entry) is used for splicing. */
  mutate(input: Uint8Array, other?: Uint8Array): Uint8Array {
    let data: Uint8Array = input.slice();
    const edits = 1 << this.rng.below(4); // 1, 2, 4 or 8
    for (let e = 0; e < edits; e++) data = this.edit(data, other);
    if (data.length > this.maxLength) data = data.subarray(0, this.maxLength).slice();
    return data;
  }

  private position(data: Uint8Array): number {
    return this.rng.below(data.length + 1);
  }

  /** A position biased towards the start (headers) half of the time. */
  private biased(data: Uint8Array): number {
    if (data.length === 0) return 0;
    return this.rng.chance(0.5) ? this.rng.below(Math.min(data.length, 64)) : this.rng.below(data.length);
  }

  private edit(data: Uint8Array, other?: Uint8Array): Uint8Array {
    const rng = this.rng;
    const n = data.length;
    switch (rng.below(14)) {
      case 0: // flip a bit
        if (n > 0) data[this.biased(data)]! ^= 1 << rng.below(8);
        return data;
      case 1: // random byte
        if (n > 0) data[this.biased(data)] = rng.below(256);
        return data;
      case 2: // interesting byte
        if (n > 0) data[this.biased(data)] = rng.pick(INTERESTING_8);
        return data;
      case 3: {
        // interesting 32-bit value, either endianness
        if (n < 4) return data;
        const at = this.biased(data) % (n - 3);
        new DataView(data.buffer, data.byteOffset, n).setUint32(at, rng.pick(INTERESTING_32), rng.chance(0.5));
        return data;
      }
      case 4: {
        // add or subtract a little
        if (n === 0) return data;
        const at = this.biased(data);
        data[at] = (data[at]! + (rng.below(35) - 17)) & 0xff;
        return data;
      }
      case 5: {
        // delete a range
        if (n === 0) return data;
        const at = rng.below(n);
        const len = 1 + rng.below(Math.min(n - at, rng.chance(0.8) ? 8 : 256));
        return concat(data.subarray(0, at), data.subarray(at + len));
      }
      case 6: {
        // insert random bytes
        const at = this.position(data);
        const len = 1 + rng.below(rng.chance(0.8) ? 4 : 64);
        const bytes = Uint8Array.from({ length: len }, () => rng.below(256));
        return concat(data.subarray(0, at), bytes, data.subarray(at));
      }
      case 7: {
        // duplicate a range (grows lists, repeats rows)
        if (n === 0) return data;
        const at = rng.below(n);
        const len = 1 + rng.below(Math.min(n - at, 512));
        const to = this.position(data);
        const copies = rng.chance(0.2) ? 1 + rng.below(16) : 1;
        const block = concat(...Array.from({ length: copies }, () => data.subarray(at, at + len)));
        return concat(data.subarray(0, to), block, data.subarray(to));
      }
      case 8:
      case 9: {
        // insert a dictionary token
        const at = this.position(data);
        return concat(data.subarray(0, at), rng.pick(this.tokens), data.subarray(at));
      }
      case 10: {
        // overwrite with a dictionary token
        const token = rng.pick(this.tokens);
        if (n < token.length) return concat(token, data.subarray(token.length));
        const at = rng.below(n - token.length + 1);
        data.set(token, at);
        return data;
      }
      case 11: {
        // replace a run of digits (a number in text) with a token
        const digits = [];
        for (let i = 0; i < n; i++) if (data[i]! >= 0x30 && data[i]! <= 0x39 && (i === 0 || data[i - 1]! < 0x30 || data[i - 1]! > 0x39)) digits.push(i);
        if (digits.length === 0) return data;
        const at = rng.pick(digits);
        let end = at;
        while (end < n && ((data[end]! >= 0x30 && data[end]! <= 0x39) || data[end] === 0x2e || data[end] === 0x65 || data[end] === 0x2d)) end++;
        return concat(data.subarray(0, at), rng.pick(this.tokens), data.subarray(end));
      }
      case 12: {
        // splice: our head, another entry's tail
        if (!other || other.length === 0) return data;
        const a = rng.below(n + 1);
        const b = rng.below(other.length);
        return concat(data.subarray(0, a), other.subarray(b));
      }
      default: {
        // insert a chunk of another entry
        if (!other || other.length === 0) return data;
        const from = rng.below(other.length);
        const len = 1 + rng.below(Math.min(other.length - from, 128));
        const at = this.position(data);
        return concat(data.subarray(0, at), other.subarray(from, from + len), data.subarray(at));
      }
    }
  }
}
