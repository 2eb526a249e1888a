/**
 * Progress display for long work: a redrawn bar on a terminal, plain lines otherwise.
 */

export interface ProgressLine {
  /** Fraction done in [0, 1]. */
  fraction: number;
  /** Short text after the bar. */
  text: string;
}

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 28,
  ) {}

  get interactive(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** Redraws the bar (at most ~10 times a second unless `force`). */
  update(line: ProgressLine, force = false): void {
    if (!this.interactive) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const f = Math.max(0, Math.min(1, line.fraction));
    const full = Math.round(f * this.width);
    const bar = '█'.repeat(full) + '░'.repeat(this.width - full);
    const cols = this.stream.columns || 100;
    const text = `${bar} ${(f * 100).toFixed(0).padStart(3)}% ${line.text}`;
    this.stream.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
    this.drawn = true;
  }

  /** Writes a line of its own (clearing the bar first on a terminal). */
  log(text: string): void {
    if (this.interactive && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${text}\n`);
    this.drawn = false;
  }

  done(): void {
    if (this.interactive && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const r = Math.round(s - m * 60);
  if (m < 60) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Renders rows as an aligned text table (numbers right-aligned). */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => cells.every((r) => /^[-+]?[\d.,]+[%kMG]?$|^-$/.test(r[i] ?? '')));
  const fmt = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [fmt(header), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(fmt)].join('\n');
}

export function compact(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}
