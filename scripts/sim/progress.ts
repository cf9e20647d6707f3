/**
 * Progress on stderr for long simulations. On a terminal: one bar redrawn in
 * place (at most 10 times a second). Otherwise (CI logs, a pipe): a plain
 * line every `intervalMs` (default 5 s), so short runs print nothing.
 *
 * @example
 * const bar = new Progress();
 * bar.update('replay', 0.42, 'lru 3/8');
 * bar.log('row done'); // printed above the bar
 * bar.clear();
 */

export interface ProgressOptions {
  /** Where to draw; default `process.stderr`. */
  out?: NodeJS.WriteStream;
  /** False turns every update into a no-op (`--quiet`). */
  enabled?: boolean;
  /** Between plain lines when `out` is not a terminal. */
  intervalMs?: number;
}

const BAR_WIDTH = 28;

export class Progress {
  private readonly out: NodeJS.WriteStream;
  private readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly started = performance.now();
  private lastDraw = Number.NEGATIVE_INFINITY;
  private shown = '';

  constructor(options: ProgressOptions = {}) {
    this.out = options.out ?? process.stderr;
    this.enabled = options.enabled ?? true;
    this.tty = this.out.isTTY === true;
    this.intervalMs = options.intervalMs ?? 5000;
    // A plain line is first printed after one interval: short runs stay silent.
    if (!this.tty) this.lastDraw = this.started;
  }

  /** Seconds since this progress display was made. */
  get elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  update(label: string, fraction: number, detail = ''): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < (this.tty ? 100 : this.intervalMs)) return;
    this.lastDraw = now;
    const f = Math.min(1, Math.max(0, fraction));
    const pct = `${(f * 100).toFixed(1).padStart(5)}%`;
    const time = `${this.elapsed.toFixed(0)}s`;
    if (!this.tty) {
      this.out.write(`[simulate ${time}] ${label} ${pct} ${detail}\n`);
      return;
    }
    const filled = Math.round(f * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    const line = `${label} ${bar} ${pct} ${time} ${detail}`;
    this.shown = line.slice(0, Math.max(20, (this.out.columns || 100) - 1));
    this.out.write(`\r\x1b[K${this.shown}`);
  }

  /** Prints a line on stderr without garbling the bar (nothing when disabled). */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.tty && this.shown) this.out.write('\r\x1b[K');
    this.out.write(`${line}\n`);
    if (this.tty && this.shown) this.out.write(this.shown);
  }

  /** Removes the bar (before the results go to stdout on the same terminal). */
  clear(): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[K');
    this.shown = '';
    this.lastDraw = this.tty ? Number.NEGATIVE_INFINITY : this.lastDraw;
  }
}
